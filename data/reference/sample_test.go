package reference_test

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/graftrain/graftrain/bench/synth"
	"github.com/graftrain/graftrain/data/anchors"
	"github.com/graftrain/graftrain/data/batch"
	"github.com/graftrain/graftrain/data/image"
	"github.com/graftrain/graftrain/data/loader"
	"github.com/graftrain/graftrain/data/reference"
	"github.com/graftrain/graftrain/internal/npytest"
)

var sampleScript = filepath.Join("..", "..", "tools", "reference", "sample.py")

// TestSampleMatchesReference runs the whole Go sample (JPEG file to the seven
// tensors) on 640×480 images with 20 instances, one of them a crowd, and
// compares it with matterport's load_image_gt, mold_image and
// build_rpn_targets computed by numpy, scipy, scikit-image and Pillow.
func TestSampleMatchesReference(t *testing.T) {
	ctx := context.Background()
	python := reference.DefaultPython
	if err := reference.Check(ctx, python); err != nil {
		t.Skip(err)
	}
	if !image.BitExactJPEG {
		t.Skip("JPEG decoding without libjpeg-turbo (CGO_ENABLED=0) is not bit-exact with Pillow")
	}
	if testing.Short() {
		t.Skip("runs the Python reference on 1024² images")
	}
	ds, err := synth.Write(t.TempDir(), 2, 20, 5)
	if err != nil {
		t.Fatal(err)
	}
	// A crowd region: it may not be negative-matched and keeps its negative id.
	ds[0].ClassIDs[2] = -ds[0].ClassIDs[2]
	refs := writeSamples(t, ds)
	g := synth.COCOGeometry(1)
	cache, err := anchors.NewCache(g.Anchors)
	if err != nil {
		t.Fatal(err)
	}
	p, err := loader.NewPreparer(g, cache)
	if err != nil {
		t.Fatal(err)
	}
	for i, ex := range ds {
		out := t.TempDir()
		if _, err := reference.Run(ctx, python, sampleScript, refs[i].Image, refs[i].Masks, refs[i].ClassIDs, out); err != nil {
			t.Fatal(err)
		}
		bt := batch.New(g.Dims())
		if _, err := p.Prepare(ex, 0, loader.Seed(1, 0, i), false, bt, 0); err != nil {
			t.Fatal(err)
		}
		compareSample(t, out, bt)
	}
}

func compareSample(t *testing.T, dir string, bt *batch.Batch) {
	t.Helper()
	load := func(name string) *npytest.Array { return npytest.Load(t, filepath.Join(dir, name+".npy")) }

	molded := load("molded").Float32(t)
	if len(molded) != len(bt.Image) {
		t.Fatalf("molded image has %d values, want %d", len(bt.Image), len(molded))
	}
	for i := range molded {
		if math.Float32bits(bt.Image[i]) != math.Float32bits(molded[i]) {
			p := i / 3
			t.Fatalf("input_image at (y=%d, x=%d, c=%d): got %v, want %v", p/bt.Width, p%bt.Width, i%3, bt.Image[i], molded[i])
		}
	}
	meta := load("meta").Float64(t)
	for i := range meta {
		if bt.ImageMeta[i] != float32(meta[i]) {
			t.Errorf("input_image_meta[%d]: got %v, want %v", i, bt.ImageMeta[i], float32(meta[i]))
		}
	}
	ids := load("class_ids").Int(t)
	boxes := load("bbox").Int(t)
	miniA := load("mini")
	mini := miniA.Bool(t)
	n, mh, mw, maxGT := len(ids), bt.MaskHeight, bt.MaskWidth, bt.MaxGTInstances
	for j := 0; j < maxGT; j++ {
		want := int32(0)
		if j < n {
			want = int32(ids[j])
		}
		if bt.GTClassIDs[j] != want {
			t.Fatalf("input_gt_class_ids[%d]: got %d, want %d (reference has %d instances)", j, bt.GTClassIDs[j], want, n)
		}
	}
	for j := 0; j < n; j++ {
		for k := range 4 {
			if bt.GTBoxes[4*j+k] != float32(boxes[4*j+k]) {
				t.Fatalf("input_gt_boxes[%d]: got %v, want %v", j, bt.GTBoxes[4*j:4*j+4], boxes[4*j:4*j+4])
			}
		}
		for y := 0; y < mh; y++ {
			for x := 0; x < mw; x++ {
				if got, want := bt.GTMasks[(y*mw+x)*maxGT+j], mini[(y*mw+x)*n+j]; got != want {
					t.Fatalf("input_gt_masks instance %d pixel (%d, %d): got %v, want %v", j, y, x, got, want)
				}
			}
		}
	}

	labels := load("labels").Int(t)
	deltas := load("deltas").Float64(t)
	row := map[int]int{}
	refPos, refNeg := 0, 0
	for i, l := range labels {
		switch l {
		case 1:
			row[i] = refPos
			refPos++
		case -1:
			refNeg++
		}
	}
	pos, neg := 0, 0
	for i, m := range bt.RPNMatch[:len(labels)] {
		if m != 0 && int(m) != labels[i] {
			t.Fatalf("input_rpn_match[%d] = %d, the reference label is %d", i, m, labels[i])
		}
		switch m {
		case 1:
			for k := range 4 {
				got, want := bt.RPNBBox[4*pos+k], deltas[4*row[i]+k]
				if got != float32(want) && math.Abs(float64(got)-want) > 1e-6*max(1, math.Abs(want)) {
					t.Fatalf("input_rpn_bbox row %d (anchor %d): got %v, want %v", pos, i, bt.RPNBBox[4*pos:4*pos+4], deltas[4*row[i]:4*row[i]+4])
				}
			}
			pos++
		case -1:
			neg++
		}
	}
	half := bt.RPNTrainAnchors / 2
	wantPos := min(refPos, half)
	if wantNeg := min(refNeg, bt.RPNTrainAnchors-wantPos); pos != wantPos || neg != wantNeg {
		t.Errorf("%d positive and %d negative anchors, want %d and %d", pos, neg, wantPos, wantNeg)
	}
}
