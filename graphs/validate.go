package graphs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// AssetError is a problem with one field of a contract asset.
type AssetError struct {
	Asset string // graftrain_contract.json or graftrain_variables.json
	Field string // JSON path, e.g. model.IMAGE_SHAPE or variables[3].path
	Msg   string
}

func (e *AssetError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s: %s", e.Asset, e.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", e.Asset, e.Field, e.Msg)
}

const maxAssetBytes = 256 << 20

// decodeStrict decodes one JSON document into v, rejecting unknown fields
// and trailing data, after checking contract_version so that a newer
// asset gets a version error rather than an unknown-field one.
func decodeStrict(asset string, r io.Reader, v any) error {
	b, err := io.ReadAll(io.LimitReader(r, maxAssetBytes+1))
	if err != nil {
		return &AssetError{Asset: asset, Msg: err.Error()}
	}
	if len(b) > maxAssetBytes {
		return &AssetError{Asset: asset, Msg: fmt.Sprintf("larger than %d bytes", maxAssetBytes)}
	}
	var head struct {
		Version *int `json:"contract_version"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return &AssetError{Asset: asset, Msg: jsonMsg(b, err)}
	}
	switch {
	case head.Version == nil:
		return &AssetError{Asset: asset, Field: "contract_version", Msg: "missing; is this a graftrain asset?"}
	case *head.Version != ContractVersion:
		return &AssetError{Asset: asset, Field: "contract_version",
			Msg: fmt.Sprintf("is %d, this graftrain reads version %d; export again with the matching exporter or update graftrain", *head.Version, ContractVersion)}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return &AssetError{Asset: asset, Field: te.Field, Msg: fmt.Sprintf("is a JSON %s, want %s", te.Value, te.Type)}
		}
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return &AssetError{Asset: asset, Field: strings.Trim(f, `"`), Msg: "unknown field (misspelt, or written by a newer exporter)"}
		}
		return &AssetError{Asset: asset, Msg: jsonMsg(b, err)}
	}
	if dec.More() {
		return &AssetError{Asset: asset, Msg: "data after the JSON object"}
	}
	return nil
}

// jsonMsg adds the line of a syntax error.
func jsonMsg(b []byte, err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line := 1 + bytes.Count(b[:min(int(se.Offset), len(b))], []byte("\n"))
		return fmt.Sprintf("line %d: %v", line, err)
	}
	return err.Error()
}

// ReadContractAsset reads and validates assets/graftrain_contract.json.
// The error names every field that is wrong (errors.Join of *AssetError).
func ReadContractAsset(r io.Reader) (*ContractAsset, error) {
	var a ContractAsset
	if err := decodeStrict(AssetContract, r, &a); err != nil {
		return nil, err
	}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	return &a, nil
}

// ReadContractAssetFile reads the contract asset at path.
func ReadContractAssetFile(path string) (*ContractAsset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	a, err := ReadContractAsset(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

// Validate checks the asset's values against each other and the contract.
func (a *ContractAsset) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &AssetError{Asset: AssetContract, Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if a.ContractVersion != ContractVersion {
		bad("contract_version", "is %d, want %d", a.ContractVersion, ContractVersion)
	}
	m := a.Model
	if m.BatchSize < 1 {
		bad("model.BATCH_SIZE", "is %d, want at least 1", m.BatchSize)
	}
	if m.NumClasses < 2 {
		bad("model.NUM_CLASSES", "is %d, want at least 2 (background included)", m.NumClasses)
	}
	if len(m.ClassNames) != 0 && len(m.ClassNames) != m.NumClasses {
		bad("model.CLASS_NAMES", "has %d names for NUM_CLASSES %d", len(m.ClassNames), m.NumClasses)
	}
	if len(m.ImageShape) != 3 {
		bad("model.IMAGE_SHAPE", "is %v, want [H, W, 3]", m.ImageShape)
	} else {
		for i, n := range m.ImageShape[:2] {
			if n <= 0 || n%64 != 0 {
				bad("model.IMAGE_SHAPE", "dimension %d is %d, want a positive multiple of 64 (the FPN downsamples 6 times)", i, n)
			}
		}
		if m.ImageShape[2] != 3 {
			bad("model.IMAGE_SHAPE", "has %d channels, want 3", m.ImageShape[2])
		}
	}
	if len(m.BackboneStrides) == 0 {
		bad("model.BACKBONE_STRIDES", "is empty")
	}
	if len(m.RPNAnchorScales) != len(m.BackboneStrides) {
		bad("model.RPN_ANCHOR_SCALES", "has %d scales for %d BACKBONE_STRIDES; want one per level", len(m.RPNAnchorScales), len(m.BackboneStrides))
	}
	if len(m.RPNAnchorRatios) == 0 {
		bad("model.RPN_ANCHOR_RATIOS", "is empty")
	}
	for _, r := range m.RPNAnchorRatios {
		if r <= 0 {
			bad("model.RPN_ANCHOR_RATIOS", "has %v, want positive ratios", r)
		}
	}
	if m.RPNAnchorStride < 1 {
		bad("model.RPN_ANCHOR_STRIDE", "is %d, want at least 1", m.RPNAnchorStride)
	}
	if m.RPNTrainAnchorsPerImage < 1 {
		bad("model.RPN_TRAIN_ANCHORS_PER_IMAGE", "is %d, want at least 1", m.RPNTrainAnchorsPerImage)
	}
	if len(m.RPNBBoxStdDev) != 4 {
		bad("model.RPN_BBOX_STD_DEV", "has %d values, want 4", len(m.RPNBBoxStdDev))
	}
	if m.MaxGTInstances < 1 {
		bad("model.MAX_GT_INSTANCES", "is %d, want at least 1", m.MaxGTInstances)
	}
	if m.UseMiniMask && (len(m.MiniMaskShape) != 2 || m.MiniMaskShape[0] <= 0 || m.MiniMaskShape[1] <= 0) {
		bad("model.MINI_MASK_SHAPE", "is %v, want [h, w] with USE_MINI_MASK", m.MiniMaskShape)
	}
	if len(m.MeanPixel) != 3 {
		bad("model.MEAN_PIXEL", "has %d values, want 3", len(m.MeanPixel))
	}
	for _, k := range a.OptionalInputs {
		if !slices.Contains(OptionalInputs(), k) {
			bad("optional_inputs", "%q is not an optional input of the contract (%s)", k, strings.Join(OptionalInputs(), ", "))
		}
	}
	for _, k := range a.OptionalOutputs {
		if !slices.Contains(OptionalOutputs(), k) {
			bad("optional_outputs", "%q is not an optional output of the contract (%s)", k, strings.Join(OptionalOutputs(), ", "))
		}
	}
	if a.Optimizer != "sgd-momentum" && a.Optimizer != "adam" {
		bad("optimizer", "is %q, want sgd-momentum or adam", a.Optimizer)
	}
	return errors.Join(errs...)
}

// ReadVariablesManifest reads and validates assets/graftrain_variables.json
// (also the file `model.variables` and `plan --variables` name).
func ReadVariablesManifest(r io.Reader) (*VariablesManifest, error) {
	var m VariablesManifest
	if err := decodeStrict(AssetVariables, r, &m); err != nil {
		return nil, err
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// ReadVariablesManifestFile reads the variables manifest at path.
func ReadVariablesManifestFile(path string) (*VariablesManifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := ReadVariablesManifest(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Validate checks that the variables are listed in index order with
// unique paths, known dtypes and non-negative shapes.
func (m *VariablesManifest) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &AssetError{Asset: AssetVariables, Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if m.ContractVersion != ContractVersion {
		bad("contract_version", "is %d, want %d", m.ContractVersion, ContractVersion)
	}
	if len(m.Variables) == 0 {
		bad("variables", "is empty; the manifest lists every variable in lr_multipliers order")
	}
	seen := make(map[string]int, len(m.Variables))
	for i, v := range m.Variables {
		f := fmt.Sprintf("variables[%d]", i)
		if v.Index != i {
			bad(f+".index", "is %d, want %d (variables are listed in lr_multipliers order)", v.Index, i)
		}
		if v.Path == "" {
			bad(f+".path", "is empty")
		} else if j, dup := seen[v.Path]; dup {
			bad(f+".path", "%q repeats variables[%d]", v.Path, j)
		} else {
			seen[v.Path] = i
		}
		if !slices.Contains([]string{"float32", "float16", "bfloat16", "float64", "int32", "int64"}, v.DType) {
			bad(f+".dtype", "is %q, want a TensorFlow dtype name such as float32", v.DType)
		}
		for _, d := range v.Shape {
			if d < 0 {
				bad(f+".shape", "is %v; variable shapes are fully known", v.Shape)
				break
			}
		}
	}
	return errors.Join(errs...)
}

// NumElements is the number of values in the variable.
func (v Variable) NumElements() int64 {
	n := int64(1)
	for _, d := range v.Shape {
		n *= d
	}
	return n
}
