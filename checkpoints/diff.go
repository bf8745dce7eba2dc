package checkpoints

import (
	"fmt"
	"math"
	"slices"

	"github.com/graftrain/graftrain/checkpoints/bundle"
)

// Change says how one variable differs between two checkpoints.
type Change string

// Kinds of change.
const (
	Same    Change = "same"    // bit-identical
	Changed Change = "changed" // same dtype and shape, different values
	Added   Change = "added"   // only in B
	Removed Change = "removed" // only in A
	Reshape Change = "reshaped"
)

// VarDiff is one checkpoint key compared between A and B.
type VarDiff struct {
	Key    string  `json:"key"`
	Change Change  `json:"change"`
	DType  string  `json:"dtype"`
	Shape  []int64 `json:"shape"`
	// For numeric tensors: L2 norm of B−A, largest |B−A|, and the L2 norm
	// of the change relative to A's norm (0 when A is all zeros).
	L2       float64 `json:"l2,omitempty"`
	MaxAbs   float64 `json:"max_abs,omitempty"`
	Relative float64 `json:"relative,omitempty"`
	Elements int64   `json:"elements_changed,omitempty"`
}

// Diff compares every key of the checkpoints at prefixes a and b, sorted by
// key. Values are compared bit by bit, so "same" proves a variable frozen.
func Diff(a, b string) ([]VarDiff, error) {
	ca, err := bundle.Open(a)
	if err != nil {
		return nil, err
	}
	cb, err := bundle.Open(b)
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, e := range ca.Index.Entries {
		keys = append(keys, e.Key)
	}
	for _, e := range cb.Index.Entries {
		if _, ok := ca.Index.Lookup(e.Key); !ok {
			keys = append(keys, e.Key)
		}
	}
	slices.Sort(keys)
	out := make([]VarDiff, 0, len(keys))
	for _, k := range keys {
		ea, inA := ca.Index.Lookup(k)
		eb, inB := cb.Index.Lookup(k)
		d := VarDiff{Key: k}
		switch {
		case !inB:
			d.Change, d.DType, d.Shape = Removed, ea.DType.String(), ea.Shape
		case !inA:
			d.Change, d.DType, d.Shape = Added, eb.DType.String(), eb.Shape
		case ea.DType != eb.DType || !slices.Equal(ea.Shape, eb.Shape):
			d.Change, d.DType, d.Shape = Reshape, eb.DType.String(), eb.Shape
		default:
			d.DType, d.Shape = ea.DType.String(), ea.Shape
			if err := compare(ca, cb, k, ea, &d); err != nil {
				return nil, err
			}
		}
		out = append(out, d)
	}
	return out, nil
}

func compare(ca, cb *bundle.Checkpoint, k string, e bundle.Entry, d *VarDiff) error {
	va, err := values(ca, k, e)
	if err != nil {
		return err
	}
	vb, err := values(cb, k, e)
	if err != nil {
		return err
	}
	if va == nil { // a dtype without numeric values: compare bytes
		ra, _, err := ca.Raw(k)
		if err != nil {
			return err
		}
		rb, _, err := cb.Raw(k)
		if err != nil {
			return err
		}
		d.Change = Same
		if !slices.Equal(ra, rb) {
			d.Change = Changed
		}
		return nil
	}
	var l2, na float64
	for i := range va {
		if math.Float64bits(va[i]) != math.Float64bits(vb[i]) {
			d.Elements++
		}
		x := vb[i] - va[i]
		l2 += x * x
		d.MaxAbs = math.Max(d.MaxAbs, math.Abs(x))
		na += va[i] * va[i]
	}
	d.Change = Same
	if d.Elements > 0 {
		d.Change = Changed
	}
	d.L2 = math.Sqrt(l2)
	if na > 0 {
		d.Relative = d.L2 / math.Sqrt(na)
	}
	return nil
}

func values(c *bundle.Checkpoint, k string, e bundle.Entry) ([]float64, error) {
	switch e.DType {
	case bundle.Float32:
		return widen(c.Float32s(k))
	case bundle.Float64:
		return c.Float64s(k)
	case bundle.Int64:
		return widen(c.Int64s(k))
	case bundle.Int32:
		return widen(c.Int32s(k))
	}
	return nil, nil
}

// widen converts a read tensor's values to float64 for comparison.
func widen[T float32 | int64 | int32](v []T, err error) ([]float64, error) {
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out, nil
}

// Summary counts a diff's changes.
func Summary(ds []VarDiff) map[Change]int {
	s := map[Change]int{}
	for _, d := range ds {
		s[d.Change]++
	}
	return s
}

// String is a one-line description of a variable's change.
func (d VarDiff) String() string {
	if d.Change != Changed {
		return fmt.Sprintf("%-8s %s %s %v", d.Change, d.Key, d.DType, d.Shape)
	}
	return fmt.Sprintf("%-8s %s %s %v l2=%.4g max=%.4g rel=%.4g", d.Change, d.Key, d.DType, d.Shape, d.L2, d.MaxAbs, d.Relative)
}
