package reference

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
)

// DefaultPython is Debian's interpreter, whose python3-numpy, python3-scipy,
// python3-skimage and python3-pil packages provide the reference libraries.
const DefaultPython = "/usr/bin/python3"

// Modules are the Python modules the reference imports.
var Modules = []string{"numpy", "scipy", "skimage", "PIL"}

// ErrUnavailable reports a missing interpreter or module; callers skip.
var ErrUnavailable = errors.New("python reference unavailable")

// Check reports whether python runs and imports every module of Modules,
// wrapping ErrUnavailable with the reason when not.
func Check(ctx context.Context, python string) error {
	if _, err := os.Stat(python); err != nil {
		return fmt.Errorf("%w: %v (install Debian's python3 with python3-numpy python3-scipy python3-skimage python3-pil)", ErrUnavailable, err)
	}
	script := "import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module(m)\n"
	cmd := exec.CommandContext(ctx, python, append([]string{"-c", script}, Modules...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%w: %s cannot import %v: %s (apt-get install python3-numpy python3-scipy python3-skimage python3-pil)", ErrUnavailable, python, Modules, lastLine(out))
	}
	return nil
}

// Sample is one image for the reference: the image file, its H×W×N bool
// instance masks and its N int32 class ids (negative for crowds), as .npy.
type Sample struct {
	Image, Masks, ClassIDs string
}

// Timing is what tools/reference/bench.py measures.
type Timing struct {
	Images     int                `json:"images"`
	MsPerImage float64            `json:"ms_per_image"`
	StagesMs   map[string]float64 `json:"stages_ms"`
	Anchors    int                `json:"anchors"`
	Versions   map[string]string  `json:"versions"`
}

// Bench runs script (tools/reference/bench.py) with python over samples,
// iters passes after one warm-up pass, on one thread.
func Bench(ctx context.Context, python, script string, iters int, samples []Sample) (Timing, error) {
	args := []string{script, "--iters", strconv.Itoa(iters)}
	for _, s := range samples {
		args = append(args, s.Image, s.Masks, s.ClassIDs)
	}
	out, err := Run(ctx, python, args[0], args[1:]...)
	if err != nil {
		return Timing{}, err
	}
	var t Timing
	if err := json.Unmarshal(out, &t); err != nil {
		return Timing{}, fmt.Errorf("reference: reading %s output %q: %w", script, lastLine(out), err)
	}
	if t.Images == 0 {
		return Timing{}, fmt.Errorf("reference: %s timed no image", script)
	}
	return t, nil
}

func lastLine(b []byte) string {
	b = bytes.TrimSpace(b)
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[i+1:]
	}
	return string(b)
}

// Run runs a reference script with python and args, returning its standard
// output. numpy's BLAS is not used on this path, but every library is kept to
// one thread so timings compare per core.
func Run(ctx context.Context, python, script string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, python, append([]string{script}, args...)...)
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS=1", "OPENBLAS_NUM_THREADS=1", "MKL_NUM_THREADS=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("reference: %s %s: %w: %s", python, script, err, lastLine(stderr.Bytes()))
	}
	return stdout.Bytes(), nil
}
