package check

import (
	"bytes"
	"context"
	goimage "image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/graftrain/graftrain/data/anchors"
	"github.com/graftrain/graftrain/data/image"
	"github.com/graftrain/graftrain/data/loader"
	"github.com/graftrain/graftrain/data/rpn"
)

func fixed(g loader.Geometry) func(int) (loader.Geometry, error) {
	return func(int) (loader.Geometry, error) { return g, nil }
}

func geometry() loader.Geometry {
	return loader.Geometry{
		BatchSize: 1, NumClasses: 3,
		Resize:         image.ResizeConfig{MinDim: 64, MaxDim: 64, Mode: image.ModeSquare},
		Anchors:        anchors.Config{Scales: []float64{8, 16, 32}, Ratios: []float64{0.5, 1, 2}, Strides: []int{4, 8, 16}, AnchorStride: 1},
		RPN:            rpn.Config{TrainAnchors: 32, StdDev: [4]float64{0.1, 0.1, 0.2, 0.2}},
		UseMiniMask:    true,
		MiniMask:       [2]int{8, 8},
		MeanPixel:      [3]float64{123.7, 116.8, 103.9},
		MaxGTInstances: 1,
	}
}

const annotations = `{
 "images": [
  {"id": 1, "file_name": "a.png", "width": 64, "height": 64},
  {"id": 2, "file_name": "missing.png", "width": 64, "height": 64}
 ],
 "categories": [{"id": 5, "name": "square"}, {"id": 9, "name": "dot"}],
 "annotations": [
  {"id": 10, "image_id": 1, "category_id": 5, "iscrowd": 0, "area": 256, "bbox": [8, 8, 16, 16],
   "segmentation": [[8, 8, 24, 8, 24, 24, 8, 24]]},
  {"id": 11, "image_id": 1, "category_id": 9, "iscrowd": 0, "area": 4, "bbox": [40, 40, 2, 2],
   "segmentation": [[40, 40, 42, 40, 42, 42, 40, 42]]},
  {"id": 12, "image_id": 2, "category_id": 5, "iscrowd": 0, "area": 100, "bbox": [60, 60, 10, 10],
   "segmentation": [[54, 54, 63, 54, 63, 63, 54, 63]]}
 ]
}`

func TestRunHandMade(t *testing.T) {
	dir := t.TempDir()
	ann := filepath.Join(dir, "instances.json")
	if err := os.WriteFile(ann, []byte(annotations), 0o644); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, goimage.NewGray(goimage.Rect(0, 0, 64, 64))); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a.png"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Run(context.Background(), ann, dir, Options{Geometry: fixed(geometry())})
	if err != nil {
		t.Fatal(err)
	}
	if r.Images != 2 || r.Usable != 2 || r.Instances != 3 || r.Missing != 1 || r.OutOfImage != 1 {
		t.Fatalf("counts %+v", r)
	}
	// Box [8,8,24,24] is exactly the scale-16 anchor centred at (16,16): IoU 1.
	// Box [40,40,42,42] is at best 4/64 with a scale-8 anchor: under all three.
	// Box [60,60,70,70]: best IoU 36/(100+64-36)... under 0.3 and 0.5 and 0.7.
	want := [3]float64{2.0 / 3, 2.0 / 3, 2.0 / 3}
	if r.BestIoUUnder != want {
		t.Fatalf("best IoU shares %v, want %v", r.BestIoUUnder, want)
	}
	if r.Tiny != 1 || r.OverMaxGT != 1 || r.MaxInstances != 2 {
		t.Fatalf("tiny %d over %d max %d", r.Tiny, r.OverMaxGT, r.MaxInstances)
	}
	// sizes: 2 → [0,4), 10 → [8,16), 16 → [16,32)
	got := map[float64]int{}
	for _, b := range r.Sizes {
		got[b.Lo] = b.Count
	}
	if got[0] != 1 || got[8] != 1 || got[16] != 1 {
		t.Fatalf("histogram %+v", r.Sizes)
	}
	var text bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "missing.png") || !strings.Contains(text.String(), "square") {
		t.Fatalf("text report:\n%s", text.String())
	}
	png := filepath.Join(dir, "sizes.png")
	if err := r.PlotSizes(png); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(png); err != nil || st.Size() == 0 {
		t.Fatalf("plot: %v", err)
	}
}

func TestRunShapes(t *testing.T) {
	g := geometry()
	g.Resize = image.ResizeConfig{MinDim: 128, MaxDim: 128, Mode: image.ModeSquare}
	g.MaxGTInstances = 10
	r, err := Run(context.Background(), "../../examples/shapes/instances_train.json", "../../examples/shapes", Options{Geometry: fixed(g)})
	if err != nil {
		t.Fatal(err)
	}
	if r.Usable == 0 || r.Missing != 0 || len(r.Problems) != 0 {
		t.Fatalf("sample dataset: %+v", r)
	}
}

func TestFindSplit(t *testing.T) {
	ann, img, err := FindSplit("../../examples/shapes", "val")
	if err != nil || filepath.Base(ann) != "instances_val.json" || img != "../../examples/shapes" {
		t.Fatalf("shapes layout: %q %q %v", ann, img, err)
	}
	dir := t.TempDir()
	for _, p := range []string{"annotations", "train2017"} {
		if err := os.MkdirAll(filepath.Join(dir, p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "annotations", "instances_train2017.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	ann, img, err = FindSplit(dir, "train")
	if err != nil || ann != filepath.Join(dir, "annotations", "instances_train2017.json") || img != filepath.Join(dir, "train2017") {
		t.Fatalf("COCO layout: %q %q %v", ann, img, err)
	}
	if _, _, err := FindSplit(dir, "val"); err == nil {
		t.Fatal("missing split found")
	}
}
