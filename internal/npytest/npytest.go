// Package npytest reads the NumPy .npy goldens that tools/reference writes, so
// tests can compare Go results against numpy, scipy, scikit-image and Pillow.
// It reads only what numpy.save writes for C-ordered arrays of the dtypes the
// goldens use, and fails the test on anything else.
package npytest

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/graftrain/graftrain/data/reference"
	"github.com/graftrain/graftrain/internal/fixtures"
)

// Array is one .npy array: its dtype descr (e.g. "<f8"), shape and raw
// little-endian data.
type Array struct {
	Descr string
	Shape []int
	Data  []byte
}

var (
	descrRe = regexp.MustCompile(`'descr':\s*'([^']+)'`)
	orderRe = regexp.MustCompile(`'fortran_order':\s*(True|False)`)
	shapeRe = regexp.MustCompile(`'shape':\s*\(([^)]*)\)`)
)

// Parse decodes .npy bytes.
func Parse(b []byte) (*Array, error) {
	if len(b) < 10 || string(b[:6]) != "\x93NUMPY" {
		return nil, fmt.Errorf("npytest: not a .npy file (bad magic)")
	}
	var hl, off int
	switch b[6] {
	case 1:
		hl, off = int(binary.LittleEndian.Uint16(b[8:10])), 10
	case 2, 3:
		if len(b) < 12 {
			return nil, fmt.Errorf("npytest: truncated header")
		}
		hl, off = int(binary.LittleEndian.Uint32(b[8:12])), 12
	default:
		return nil, fmt.Errorf("npytest: unsupported .npy version %d", b[6])
	}
	if off+hl > len(b) {
		return nil, fmt.Errorf("npytest: truncated header")
	}
	h := string(b[off : off+hl])
	d, o, s := descrRe.FindStringSubmatch(h), orderRe.FindStringSubmatch(h), shapeRe.FindStringSubmatch(h)
	if d == nil || o == nil || s == nil {
		return nil, fmt.Errorf("npytest: header %q lacks descr, fortran_order or shape", h)
	}
	if o[1] != "False" {
		return nil, fmt.Errorf("npytest: Fortran-ordered arrays are not supported")
	}
	a := &Array{Descr: d[1], Shape: []int{}}
	n := 1
	for _, f := range strings.Split(s[1], ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		v, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("npytest: bad shape %q", s[1])
		}
		a.Shape = append(a.Shape, v)
		n *= v
	}
	size, ok := map[string]int{"|u1": 1, "|b1": 1, "|i1": 1, "<i4": 4, "<i8": 8, "<f4": 4, "<f8": 8}[a.Descr]
	if !ok {
		return nil, fmt.Errorf("npytest: unsupported dtype %q", a.Descr)
	}
	a.Data = b[off+hl:]
	if len(a.Data) != n*size {
		return nil, fmt.Errorf("npytest: %d data bytes for shape %v of %s, want %d", len(a.Data), a.Shape, a.Descr, n*size)
	}
	return a, nil
}

// Load reads path, failing t on any error.
func Load(t testing.TB, path string) *Array {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (regenerate with /usr/bin/python3 tools/reference/gen.py)", err)
	}
	a, err := Parse(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return a
}

// Len is the element count.
func (a *Array) Len() int {
	n := 1
	for _, v := range a.Shape {
		n *= v
	}
	return n
}

func (a *Array) want(t testing.TB, descrs ...string) {
	t.Helper()
	for _, d := range descrs {
		if a.Descr == d {
			return
		}
	}
	t.Fatalf("npytest: array is %s, want one of %v", a.Descr, descrs)
}

// Uint8 returns a |u1 array's elements.
func (a *Array) Uint8(t testing.TB) []uint8 {
	t.Helper()
	a.want(t, "|u1")
	return a.Data
}

// Bool returns a |b1 array's elements.
func (a *Array) Bool(t testing.TB) []bool {
	t.Helper()
	a.want(t, "|b1")
	out := make([]bool, len(a.Data))
	for i, v := range a.Data {
		out[i] = v != 0
	}
	return out
}

// Int returns an integer array's elements (|i1, <i4 or <i8).
func (a *Array) Int(t testing.TB) []int {
	t.Helper()
	a.want(t, "|i1", "<i4", "<i8")
	out := make([]int, a.Len())
	for i := range out {
		switch a.Descr {
		case "|i1":
			out[i] = int(int8(a.Data[i]))
		case "<i4":
			out[i] = int(int32(binary.LittleEndian.Uint32(a.Data[4*i:])))
		default:
			out[i] = int(int64(binary.LittleEndian.Uint64(a.Data[8*i:])))
		}
	}
	return out
}

// Float32 returns a <f4 array's elements.
func (a *Array) Float32(t testing.TB) []float32 {
	t.Helper()
	a.want(t, "<f4")
	out := make([]float32, a.Len())
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(a.Data[4*i:]))
	}
	return out
}

// Float64 returns a <f8 array's elements.
func (a *Array) Float64(t testing.TB) []float64 {
	t.Helper()
	a.want(t, "<f8")
	out := make([]float64, a.Len())
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(a.Data[8*i:]))
	}
	return out
}

// Number returns any numeric array's elements as float64 (exact for the
// integers and floats the goldens hold). numpy picks int64 for some arrays
// that are float64 in other cases, e.g. compose_image_meta at scale 1.
func (a *Array) Number(t testing.TB) []float64 {
	t.Helper()
	switch a.Descr {
	case "<f8":
		return a.Float64(t)
	case "<f4":
		f := a.Float32(t)
		out := make([]float64, len(f))
		for i, v := range f {
			out[i] = float64(v)
		}
		return out
	case "|u1", "|b1":
		out := make([]float64, len(a.Data))
		for i, v := range a.Data {
			out[i] = float64(v)
		}
		return out
	}
	n := a.Int(t)
	out := make([]float64, len(n))
	for i, v := range n {
		out[i] = float64(v)
	}
	return out
}

// RandomCases runs tools/reference/random_cases.py for kind ("image", "rpn")
// with seed and n cases into a temporary directory and returns it. It skips
// the test when Debian's python3 with the reference libraries is missing,
// or in -short mode.
func RandomCases(t testing.TB, kind string, seed, n int) string {
	t.Helper()
	ctx := context.Background()
	if err := reference.Check(ctx, reference.DefaultPython); err != nil {
		t.Skip(err)
	}
	if testing.Short() {
		t.Skip("runs the Python reference")
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root, ok := fixtures.Root(wd)
	if !ok {
		t.Fatalf("repository root not found above %s", wd)
	}
	dir := t.TempDir()
	script := filepath.Join(root, "tools", "reference", "random_cases.py")
	if _, err := reference.Run(ctx, reference.DefaultPython, script, kind, dir, "--seed", strconv.Itoa(seed), "--n", strconv.Itoa(n)); err != nil {
		t.Fatal(err)
	}
	return dir
}
