//go:build tensorflow

package session

import (
	"bytes"
	"fmt"
	"io"
	"unsafe"

	tf "github.com/wamuir/graft/tensorflow"
)

// Host tensors are copied into TensorFlow-owned memory once: graft's
// ReadTensor allocates the tensor with its final shape (TF_AllocateTensor)
// and reads the raw little-endian bytes, so there is no reflection over
// nested slices and no Reshape. graft has no call to write into an
// existing tensor, so batch tensors are new every step; their C memory is
// released by graft's finalizers (see Runner's collector).

func bytesOf[T float32 | int32 | int64 | bool](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	var zero T
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*int(unsafe.Sizeof(zero)))
}

// byteSize is the size of t's buffer for the fixed-size dtypes fed and
// fetched here (1 byte for bool, 8 for int64, else 4).
func byteSize(t *tf.Tensor) int64 {
	switch t.DataType() {
	case tf.Bool, tf.Uint8:
		return numel(t.Shape())
	case tf.Int64, tf.Double:
		return numel(t.Shape()) * 8
	}
	return numel(t.Shape()) * 4
}

func numel(shape []int64) int64 {
	n := int64(1)
	for _, d := range shape {
		n *= d
	}
	return n
}

// readTensor makes a tensor of dtype dt and shape from raw bytes holding
// n values. (Callers pass graft's dtype constants directly: without cgo
// those have no known type, so they are kept out of generic calls.)
func readTensor(dt tf.DataType, shape []int64, raw []byte, n int) (*tf.Tensor, error) {
	if want := numel(shape); int64(n) != want {
		return nil, fmt.Errorf("have %d values for shape %v (%d values)", n, shape, want)
	}
	t, err := tf.ReadTensor(dt, shape, bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("tensor %v: %w", shape, err)
	}
	return t, nil
}

func floatTensor(shape []int64, data []float32) (*tf.Tensor, error) {
	return readTensor(tf.Float, shape, bytesOf(data), len(data))
}

func int32Tensor(shape []int64, data []int32) (*tf.Tensor, error) {
	return readTensor(tf.Int32, shape, bytesOf(data), len(data))
}

func boolTensor(shape []int64, data []bool) (*tf.Tensor, error) {
	return readTensor(tf.Bool, shape, bytesOf(data), len(data))
}

// byteSink copies into a fixed byte slice and fails on overflow.
type byteSink struct {
	b []byte
	n int
}

func (s *byteSink) Write(p []byte) (int, error) {
	if len(p) > len(s.b)-s.n {
		return 0, io.ErrShortWrite
	}
	s.n += copy(s.b[s.n:], p)
	return len(p), nil
}

// floatsOf copies a float32 tensor's values into dst (grown as needed) and
// returns it; the tensor's contents are read once, without reflection.
func floatsOf(t *tf.Tensor, dst []float32) ([]float32, error) {
	if t.DataType() != tf.Float {
		return nil, fmt.Errorf("tensor has dtype %d (TF_DataType), want float32 (%d)", t.DataType(), tf.Float)
	}
	n := int(numel(t.Shape()))
	if cap(dst) < n {
		dst = make([]float32, n)
	}
	dst = dst[:n]
	sink := &byteSink{b: bytesOf(dst)}
	if _, err := t.WriteContentsTo(sink); err != nil {
		return nil, fmt.Errorf("read tensor: %w", err)
	}
	if sink.n != len(sink.b) {
		return nil, fmt.Errorf("tensor has %d bytes, want %d", sink.n, len(sink.b))
	}
	return dst, nil
}

// scalarOf returns the value of a float32 tensor holding one element
// (shape [] or [1]).
func scalarOf(t *tf.Tensor) (float32, error) {
	var buf [1]float32
	v, err := floatsOf(t, buf[:0])
	if err != nil {
		return 0, err
	}
	if len(v) != 1 {
		return 0, fmt.Errorf("want one value, tensor has shape %v", t.Shape())
	}
	return v[0], nil
}

// int64Of returns the value of an int64 tensor holding one element.
func int64Of(t *tf.Tensor) (int64, error) {
	if t.DataType() != tf.Int64 || numel(t.Shape()) != 1 {
		return 0, fmt.Errorf("want one int64, tensor has dtype %d (TF_DataType) and shape %v", t.DataType(), t.Shape())
	}
	var v [1]int64
	sink := &byteSink{b: bytesOf(v[:])}
	if _, err := t.WriteContentsTo(sink); err != nil {
		return 0, fmt.Errorf("read tensor: %w", err)
	}
	return v[0], nil
}

// extraOf reads an optional scalar output: float32, or bool as 0 or 1
// (update_skipped).
func extraOf(t *tf.Tensor) (float32, error) {
	if t.DataType() != tf.Bool {
		return scalarOf(t)
	}
	if numel(t.Shape()) != 1 {
		return 0, fmt.Errorf("want one bool, tensor has shape %v", t.Shape())
	}
	var v [1]byte
	sink := &byteSink{b: v[:]}
	if _, err := t.WriteContentsTo(sink); err != nil {
		return 0, fmt.Errorf("read tensor: %w", err)
	}
	if v[0] != 0 {
		return 1, nil
	}
	return 0, nil
}
