package standin

import (
	"context"
	"fmt"
)

// Tensor is one named checkpoint tensor. Exactly one of Float and Int64
// holds the values.
type Tensor struct {
	Name  string
	Shape []int64
	Float []float32
	Int64 []int64
}

// Store writes and reads a set of tensors as a TensorFlow checkpoint at a
// prefix (prefix.index, prefix.data-*).
type Store interface {
	Write(prefix string, tensors []Tensor) error
	Read(prefix string) ([]Tensor, error)
}

// Tensors returns the model's checkpoint content: every variable under its
// manifest path, its momentum slot under path/momentum and the step counter.
func (m *Model) Tensors() []Tensor {
	out := make([]Tensor, 0, 2*len(m.vars)+1)
	for _, v := range m.vars {
		out = append(out, Tensor{Name: v.name, Shape: v.shape, Float: append([]float32(nil), v.w...)})
		if v.trainable {
			out = append(out, Tensor{Name: v.name + momentumSfx, Shape: v.shape, Float: append([]float32(nil), v.v...)})
		}
	}
	out = append(out, Tensor{Name: StepKey, Shape: []int64{}, Int64: []int64{m.step}})
	return out
}

// Save writes a checkpoint at prefix through the model's Store.
func (m *Model) Save(ctx context.Context, prefix string) error {
	if m.opts.Store == nil {
		return fmt.Errorf("stand-in save %s: no checkpoint store configured", prefix)
	}
	if err := m.opts.Store.Write(prefix, m.Tensors()); err != nil {
		return fmt.Errorf("stand-in save %s: %w", prefix, err)
	}
	return nil
}

// Restore reads the checkpoint at prefix. Every variable, momentum slot and
// the step counter must be there with the stand-in's shape; nothing changes
// when one is missing.
func (m *Model) Restore(ctx context.Context, prefix string) error {
	if m.opts.Store == nil {
		return fmt.Errorf("stand-in restore %s: no checkpoint store configured", prefix)
	}
	ts, err := m.opts.Store.Read(prefix)
	if err != nil {
		return fmt.Errorf("stand-in restore %s: %w", prefix, err)
	}
	byName := make(map[string]Tensor, len(ts))
	for _, t := range ts {
		byName[t.Name] = t
	}
	get := func(name string, n int) ([]float32, error) {
		t, ok := byName[name]
		if !ok {
			return nil, fmt.Errorf("stand-in restore %s: tensor %q missing", prefix, name)
		}
		if len(t.Float) != n {
			return nil, fmt.Errorf("stand-in restore %s: tensor %q has %d float32 values, want %d", prefix, name, len(t.Float), n)
		}
		return t.Float, nil
	}
	ws := make([][]float32, len(m.vars))
	vs := make([][]float32, len(m.vars))
	for i, v := range m.vars {
		if ws[i], err = get(v.name, len(v.w)); err != nil {
			return err
		}
		if v.trainable {
			if vs[i], err = get(v.name+momentumSfx, len(v.v)); err != nil {
				return err
			}
		}
	}
	st, ok := byName[StepKey]
	if !ok || len(st.Int64) != 1 {
		return fmt.Errorf("stand-in restore %s: int64 scalar %q missing", prefix, StepKey)
	}
	for i := range m.vars {
		copy(m.vars[i].w, ws[i])
		if vs[i] != nil {
			copy(m.vars[i].v, vs[i])
		}
	}
	m.step = st.Int64[0]
	return nil
}
