package loader

import (
	"github.com/graftrain/graftrain/data/anchors"
	"github.com/graftrain/graftrain/data/rpn"
)

func anchorsConfig() anchors.Config {
	return anchors.Config{Scales: []float64{8, 16, 32}, Ratios: []float64{0.5, 1, 2}, Strides: []int{4, 8, 16}, AnchorStride: 1}
}

func rpnConfig() rpn.Config {
	return rpn.Config{TrainAnchors: 32, StdDev: [4]float64{0.1, 0.1, 0.2, 0.2}}
}

func newCache(g Geometry) (*anchors.Cache, error) { return anchors.NewCache(g.Anchors) }
