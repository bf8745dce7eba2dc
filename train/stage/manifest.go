package stage

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/graftrain/graftrain/graphs"
)

// ManifestPath is where a SavedModel directory keeps its variables manifest.
func ManifestPath(modelDir string) string {
	return filepath.Join(modelDir, "assets", graphs.AssetVariables)
}

// ReadManifest reads a variables manifest file (graftrain_variables.json)
// with the contract's reader and checks what Build needs on top of it.
func ReadManifest(path string) (*graphs.VariablesManifest, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("variables manifest %s: file not found (give a model directory holding assets/%s, --variables FILE or model.variables)", path, graphs.AssetVariables)
	}
	m, err := graphs.ReadVariablesManifestFile(path)
	if err != nil {
		return nil, fmt.Errorf("variables manifest: %w", err)
	}
	if err := checkSizes(m); err != nil {
		return nil, fmt.Errorf("variables manifest %s: %w", path, err)
	}
	return m, nil
}

// DecodeManifest is ReadManifest for bytes in memory; name labels errors.
func DecodeManifest(data []byte, name string) (*graphs.VariablesManifest, error) {
	m, err := graphs.ReadVariablesManifest(bytes.NewReader(data))
	if err == nil {
		err = checkSizes(m)
	}
	if err != nil {
		return nil, fmt.Errorf("variables manifest %s: %w", name, err)
	}
	return m, nil
}

// ValidateManifest runs the contract's checks (graphs) and Build's own: no
// variable's element count overflows int64.
func ValidateManifest(m *graphs.VariablesManifest) error {
	if err := m.Validate(); err != nil {
		return err
	}
	return checkSizes(m)
}

func checkSizes(m *graphs.VariablesManifest) error {
	for i, v := range m.Variables {
		if _, err := elements(v.Shape); err != nil {
			return fmt.Errorf("variables[%d] (%s): %w", i, v.Path, err)
		}
	}
	return nil
}

// elements is the number of values of a tensor of the given shape (1 for a
// scalar).
func elements(shape []int64) (int64, error) {
	n := int64(1)
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("shape %v has a negative or unknown dimension", shape)
		}
		if d != 0 && n > math.MaxInt64/d {
			return 0, fmt.Errorf("shape %v has too many elements", shape)
		}
		n *= d
	}
	return n, nil
}
