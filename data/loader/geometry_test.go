package loader

import (
	"path/filepath"
	"testing"

	"github.com/graftrain/graftrain/config"
	"github.com/graftrain/graftrain/data/batch"
	"github.com/graftrain/graftrain/data/mask"
	"github.com/graftrain/graftrain/graphs"
)

func matterportModel() config.Model {
	return config.Model{
		BatchSize: 2, ImageMinDim: 800, ImageMaxDim: 1024, ImageResizeMode: "square",
		RPNAnchorScales: []float64{32, 64, 128, 256, 512}, RPNAnchorRatios: []float64{0.5, 1, 2},
		BackboneStrides: []int{4, 8, 16, 32, 64}, RPNAnchorStride: 1, RPNTrainAnchorsPerImage: 256,
		RPNBBoxStdDev: []float64{0.1, 0.1, 0.2, 0.2}, UseMiniMask: true, MiniMaskShape: []int{56, 56},
		MeanPixel: []float64{123.7, 116.8, 103.9}, MaxGTInstances: 100,
	}
}

func TestFromConfigAndContract(t *testing.T) {
	g, err := FromConfig(matterportModel(), 81)
	if err != nil {
		t.Fatal(err)
	}
	want := batch.Dims{Size: 2, Height: 1024, Width: 1024, NumClasses: 81, Anchors: 261888, RPNTrainAnchors: 256, MaxGTInstances: 100, MaskHeight: 56, MaskWidth: 56}
	if d := g.Dims(); d != want {
		t.Fatalf("config dims %+v", d)
	}
	mc := graphs.ModelConfig{
		BatchSize: 2, NumClasses: 81, ImageShape: []int{1024, 1024, 3}, ImageResizeMode: "square",
		ImageMinDim: 800, ImageMaxDim: 1024, RPNAnchorScales: []float64{32, 64, 128, 256, 512},
		RPNAnchorRatios: []float64{0.5, 1, 2}, BackboneStrides: []int{4, 8, 16, 32, 64}, RPNAnchorStride: 1,
		RPNTrainAnchorsPerImage: 256, RPNBBoxStdDev: []float64{0.1, 0.1, 0.2, 0.2}, MaxGTInstances: 100,
		UseMiniMask: true, MiniMaskShape: []int{56, 56}, MeanPixel: []float64{123.7, 116.8, 103.9},
	}
	g2, err := FromContract(mc)
	if err != nil {
		t.Fatal(err)
	}
	if g2.Dims() != want {
		t.Fatalf("contract dims %+v", g2.Dims())
	}
	mc.ImageShape = []int{512, 512, 3}
	if _, err := FromContract(mc); err == nil {
		t.Fatal("IMAGE_SHAPE disagreeing with the resize mode accepted")
	}
	m := matterportModel()
	m.MeanPixel = m.MeanPixel[:2]
	if _, err := FromConfig(m, 81); err == nil {
		t.Fatal("two-value mean pixel accepted")
	}
	cfg := &config.Config{Model: matterportModel()}
	cfg.Model.NumClasses = 4
	if _, err := ForConfig(cfg, 81); err == nil {
		t.Fatal("model.num_classes 4 with an 81-class dataset accepted")
	}
	if g, err := ForConfig(cfg, 4); err != nil || g.NumClasses != 4 {
		t.Fatalf("matching class count: %v", err)
	}
	cfg.Model.Dir = filepath.Join(t.TempDir(), "nomodel")
	if _, err := ForConfig(cfg, 81); err == nil {
		t.Fatal("missing contract asset accepted")
	}
}

func TestPrepareFullMasks(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.png")
	writePNG(t, p, 32, 64, 0)
	r, _ := mask.Encode(rect(32, 64, 2, 3, 5, 9), 32, 64)
	g := smallGeometry()
	g.UseMiniMask = false
	cache, _ := newCache(g)
	prep, err := NewPreparer(g, cache)
	if err != nil {
		t.Fatal(err)
	}
	d := g.Dims()
	d.Size = 1
	b := batch.New(d)
	// 32×64 in a 64² square: scale 1 (max side 64), 16 rows of padding on top.
	if _, err := prep.Prepare(Example{ImageID: 1, Path: p, Height: 32, Width: 64, Masks: []mask.RLE{r}, ClassIDs: []int32{2}}, 0, Seed(1, 0, 0), false, b, 0); err != nil {
		t.Fatal(err)
	}
	if got := b.GTBoxes[:4]; got[0] != 18 || got[1] != 3 || got[2] != 21 || got[3] != 9 {
		t.Fatalf("box %v, want [18 3 21 9]", got)
	}
	n := 0
	for y := 0; y < 64; y++ {
		for x := 0; x < 64; x++ {
			on := b.GTMasks[(y*64+x)*2]
			if on {
				n++
			}
			if on != (y >= 18 && y < 21 && x >= 3 && x < 9) {
				t.Fatalf("full mask pixel (%d,%d) = %v", y, x, on)
			}
		}
	}
	if n != 18 {
		t.Fatalf("%d mask pixels, want 18", n)
	}
}

func TestOptionsFromConfig(t *testing.T) {
	cfg := &config.Config{Train: config.Train{Seed: 42}, Data: config.Data{Workers: 3, Prefetch: 5, Shuffle: true, AugmentFlip: true, FailOnBadImage: true}}
	o := OptionsFromConfig(cfg, smallGeometry())
	if o.Seed != 42 || o.Workers != 3 || o.Prefetch != 5 || !o.Shuffle || !o.Augment || !o.FailOnBadImage || o.Geometry.BatchSize != 2 {
		t.Fatalf("options %+v", o)
	}
}
