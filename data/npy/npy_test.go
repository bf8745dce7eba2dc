package npy

import (
	"bytes"
	"testing"
)

func TestHeaderAndData(t *testing.T) {
	tests := []struct {
		name  string
		shape []int
		data  any
		dict  string
		body  []byte
	}{
		{"f4 2x1", []int{2, 1}, []float32{1, -2}, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1), }",
			[]byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0}},
		{"i4 vector", []int{2}, []int32{1, -1}, "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }",
			[]byte{1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}},
		{"b1", []int{1, 3}, []bool{true, false, true}, "{'descr': '|b1', 'fortran_order': False, 'shape': (1, 3), }",
			[]byte{1, 0, 1}},
		{"f8 scalar", []int{}, []float64{0.5}, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }",
			[]byte{0, 0, 0, 0, 0, 0, 0xe0, 0x3f}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, tt.shape, tt.data); err != nil {
				t.Fatal(err)
			}
			b := buf.Bytes()
			if string(b[:8]) != "\x93NUMPY\x01\x00" {
				t.Fatalf("magic %q", b[:8])
			}
			hl := int(b[8]) | int(b[9])<<8
			if (10+hl)%64 != 0 {
				t.Fatalf("data offset %d not a multiple of 64", 10+hl)
			}
			h := string(b[10 : 10+hl])
			if h[len(h)-1] != '\n' || !bytes.HasPrefix([]byte(h), []byte(tt.dict)) || bytes.TrimRight([]byte(h[len(tt.dict):]), " \n") != nil && len(bytes.TrimRight([]byte(h[len(tt.dict):]), " \n")) != 0 {
				t.Fatalf("header %q", h)
			}
			if !bytes.Equal(b[10+hl:], tt.body) {
				t.Fatalf("body % x, want % x", b[10+hl:], tt.body)
			}
		})
	}
	if err := Write(&bytes.Buffer{}, []int{3}, []float32{1}); err == nil {
		t.Fatal("shape mismatch accepted")
	}
}
