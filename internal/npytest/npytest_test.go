package npytest

import (
	"bytes"
	"testing"

	"github.com/graftrain/graftrain/data/npy"
)

// The reader must read back what the project's .npy writer (numpy's format)
// writes.
func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		shape []int
		data  any
	}{
		{"f4", []int{2, 3}, []float32{1, -2.5, 3, 0, 1e-30, 7}},
		{"f8", []int{3}, []float64{0.1, -1e300, 5}},
		{"i4", []int{2, 2}, []int32{-1, 0, 1, 1 << 30}},
		{"b1", []int{1, 3}, []bool{true, false, true}},
		{"scalar-free 1d", []int{0}, []float32{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := npy.Write(&buf, tc.shape, tc.data); err != nil {
				t.Fatal(err)
			}
			a, err := Parse(buf.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if len(a.Shape) != len(tc.shape) {
				t.Fatalf("shape %v, want %v", a.Shape, tc.shape)
			}
			switch d := tc.data.(type) {
			case []float32:
				got := a.Float32(t)
				for i := range d {
					if got[i] != d[i] {
						t.Fatalf("[%d] = %v, want %v", i, got[i], d[i])
					}
				}
			case []float64:
				got := a.Float64(t)
				for i := range d {
					if got[i] != d[i] {
						t.Fatalf("[%d] = %v, want %v", i, got[i], d[i])
					}
				}
			case []int32:
				got := a.Int(t)
				for i := range d {
					if got[i] != int(d[i]) {
						t.Fatalf("[%d] = %v, want %v", i, got[i], d[i])
					}
				}
			case []bool:
				got := a.Bool(t)
				for i := range d {
					if got[i] != d[i] {
						t.Fatalf("[%d] = %v, want %v", i, got[i], d[i])
					}
				}
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	for name, b := range map[string][]byte{
		"magic":     []byte("PK\x03\x04 not npy"),
		"truncated": append([]byte("\x93NUMPY\x01\x00\x76\x00"), "{'descr'"...),
		"fortran":   append(append([]byte("\x93NUMPY\x01\x00"), 0x40, 0), []byte("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }          \n")...),
	} {
		if _, err := Parse(b); err == nil {
			t.Errorf("%s: Parse accepted bad input", name)
		}
	}
}
