package standin

import (
	"fmt"
	"sync"

	"github.com/graftrain/graftrain/graphs"
)

// MemStore keeps checkpoints in memory, for tests that need no files.
type MemStore struct {
	mu sync.Mutex
	m  map[string][]Tensor
}

// Write stores a deep copy of ts under prefix.
func (s *MemStore) Write(prefix string, ts []Tensor) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string][]Tensor{}
	}
	cp := make([]Tensor, len(ts))
	for i, t := range ts {
		cp[i] = Tensor{Name: t.Name, Shape: append([]int64(nil), t.Shape...), Float: append([]float32(nil), t.Float...), Int64: append([]int64(nil), t.Int64...)}
	}
	s.m[prefix] = cp
	return nil
}

// Read returns what Write stored under prefix.
func (s *MemStore) Read(prefix string) ([]Tensor, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ts, ok := s.m[prefix]
	if !ok {
		return nil, fmt.Errorf("no checkpoint at %s", prefix)
	}
	return ts, nil
}

// SampleManifest returns a small manifest named like matterport's Mask
// R-CNN (a few variables per default group, BatchNorm parameters and
// statistics included), for tests and examples without a model.
func SampleManifest() *graphs.VariablesManifest {
	m := &graphs.VariablesManifest{ContractVersion: graphs.ContractVersion, Model: "standin-sample"}
	add := func(layer, name string, shape []int64, bn, trainable bool) {
		m.Variables = append(m.Variables, graphs.Variable{
			Index: len(m.Variables), Path: layer + "/" + name, Layer: layer,
			Shape: shape, DType: "float32", Trainable: trainable, BatchNorm: bn,
		})
	}
	conv := func(layer string, k, in, out int64) {
		add(layer, "kernel", []int64{k, k, in, out}, false, true)
		add(layer, "bias", []int64{out}, false, true)
	}
	bn := func(layer string, c int64) {
		add(layer, "gamma", []int64{c}, true, true)
		add(layer, "beta", []int64{c}, true, true)
		add(layer, "moving_mean", []int64{c}, true, false)
		add(layer, "moving_variance", []int64{c}, true, false)
	}
	conv("conv1", 7, 3, 64)
	bn("bn_conv1", 64)
	for i, c := range []int64{256, 512, 1024, 2048} {
		n := fmt.Sprint(i + 2)
		conv("res"+n+"a_branch2a", 1, c/2, c/4)
		bn("bn"+n+"a_branch2a", c/4)
	}
	for _, p := range []string{"fpn_c5p5", "fpn_p5"} {
		conv(p, 3, 256, 256)
	}
	conv("rpn_conv_shared", 3, 256, 512)
	conv("rpn_class_raw", 1, 512, 6)
	conv("mrcnn_class_conv1", 7, 256, 1024)
	conv("mrcnn_class_logits", 1, 1024, 81)
	conv("mrcnn_bbox_fc", 1, 1024, 324)
	conv("mrcnn_mask_conv1", 3, 256, 256)
	conv("mrcnn_mask", 1, 256, 81)
	return m
}
