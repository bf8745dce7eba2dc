// Package npy writes NumPy .npy files (format version 1.0, little endian,
// C order) so users can open the tensors graftrain feeds a model with
// numpy.load.
package npy

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
)

// Header returns the .npy v1.0 header for descr (e.g. "<f4") and shape:
// magic, version, header length and the dict, space padded and newline
// ended so the data starts at a multiple of 64 bytes.
func Header(descr string, shape []int) []byte {
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = fmt.Sprint(d)
	}
	tuple := strings.Join(dims, ", ")
	if len(shape) == 1 {
		tuple += ","
	}
	dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, tuple)
	total := 10 + len(dict) + 1
	pad := (64 - total%64) % 64
	dict += strings.Repeat(" ", pad) + "\n"
	h := make([]byte, 10, 10+len(dict))
	copy(h, "\x93NUMPY\x01\x00")
	binary.LittleEndian.PutUint16(h[8:], uint16(len(dict)))
	return append(h, dict...)
}

func count(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// Write writes data (one of []float32, []float64, []int32, []bool) with
// shape to w.
func Write(w io.Writer, shape []int, data any) error {
	var descr string
	var n int
	switch d := data.(type) {
	case []float32:
		descr, n = "<f4", len(d)
	case []float64:
		descr, n = "<f8", len(d)
	case []int32:
		descr, n = "<i4", len(d)
	case []bool:
		descr, n = "|b1", len(d)
	default:
		return fmt.Errorf("npy: unsupported element type %T", data)
	}
	if n != count(shape) {
		return fmt.Errorf("npy: %d values for shape %v", n, shape)
	}
	bw := bufio.NewWriter(w)
	if _, err := bw.Write(Header(descr, shape)); err != nil {
		return err
	}
	var b [8]byte
	switch d := data.(type) {
	case []float32:
		for _, v := range d {
			binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
			bw.Write(b[:4])
		}
	case []float64:
		for _, v := range d {
			binary.LittleEndian.PutUint64(b[:], math.Float64bits(v))
			bw.Write(b[:8])
		}
	case []int32:
		for _, v := range d {
			binary.LittleEndian.PutUint32(b[:], uint32(v))
			bw.Write(b[:4])
		}
	case []bool:
		for _, v := range d {
			if v {
				bw.WriteByte(1)
			} else {
				bw.WriteByte(0)
			}
		}
	}
	return bw.Flush()
}

// WriteFile writes one array to path.
func WriteFile(path string, shape []int, data any) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := Write(f, shape, data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
