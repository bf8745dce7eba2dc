package standin

import (
	"fmt"

	"github.com/graftrain/graftrain/checkpoints/bundle"
)

// BundleStore writes and reads real TensorFlow checkpoints (TensorBundle
// format, one data shard) with the pure-Go bundle package; TensorFlow's
// checkpoint reader accepts them and `graftrain checkpoints diff` reads them.
type BundleStore struct{}

// Write writes prefix.index and prefix.data-00000-of-00001.
func (BundleStore) Write(prefix string, ts []Tensor) error {
	w, err := bundle.NewWriter(prefix)
	if err != nil {
		return err
	}
	for _, t := range ts {
		if t.Int64 != nil {
			err = w.AddInt64(t.Name, t.Shape, t.Int64)
		} else {
			err = w.AddFloat32(t.Name, t.Shape, t.Float)
		}
		if err != nil {
			w.Abort()
			return err
		}
	}
	return w.Finish()
}

// Read reads every float32 and int64 tensor of the checkpoint at prefix,
// checking each entry's CRC32C.
func (BundleStore) Read(prefix string) ([]Tensor, error) {
	c, err := bundle.Open(prefix)
	if err != nil {
		return nil, err
	}
	out := make([]Tensor, 0, len(c.Index.Entries))
	for _, e := range c.Index.Entries {
		t := Tensor{Name: e.Key, Shape: e.Shape}
		switch e.DType {
		case bundle.Float32:
			t.Float, err = c.Float32s(e.Key)
		case bundle.Int64:
			t.Int64, err = c.Int64s(e.Key)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("checkpoint %s: %w", prefix, err)
		}
		out = append(out, t)
	}
	return out, nil
}
