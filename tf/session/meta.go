package session

import (
	"fmt"
	"strconv"
	"strings"
)

// TensorRef names one tensor of the graph: an operation and its output
// index, as in a SignatureDef's "op:index".
type TensorRef struct {
	Op    string
	Index int
}

func (r TensorRef) String() string { return r.Op + ":" + strconv.Itoa(r.Index) }

// ParseTensorName splits "op:index" (":index" may be absent, meaning 0).
// Op names like StatefulPartitionedCall_3 change with every export, so
// tensors are always found through the SignatureDef and saver_def names.
func ParseTensorName(name string) (TensorRef, error) {
	op, idx, ok := strings.Cut(name, ":")
	if op == "" || strings.HasPrefix(op, "^") || strings.HasPrefix(op, "<") {
		return TensorRef{}, fmt.Errorf("tensor name %q: want op:index (sparse and composite tensors are not supported)", name)
	}
	if !ok {
		return TensorRef{Op: op}, nil
	}
	i, err := strconv.Atoi(idx)
	if err != nil || i < 0 {
		return TensorRef{}, fmt.Errorf("tensor name %q: output index %q is not a non-negative integer", name, idx)
	}
	return TensorRef{Op: op, Index: i}, nil
}
