package standin

import (
	"context"
	"math"
	"reflect"
	"testing"

	"github.com/graftrain/graftrain/data/batch"
	"github.com/graftrain/graftrain/train"
)

// predictBatch holds two images of 64×96: image 4 with a class-2 instance
// whose mini mask is its left half, a crowd region and a padding slot;
// image 7 with one class-1 instance covering the whole image. Their false
// positives (class 1 + id mod 2) are of the other class.
func predictBatch() *batch.Batch {
	d := batch.Dims{Size: 2, Height: 64, Width: 96, NumClasses: 3, Anchors: 5, MaxGTInstances: 3, MaskHeight: 8, MaskWidth: 8}
	b := batch.New(d)
	b.ImageIDs = []int64{4, 7}
	G := d.MaxGTInstances
	set := func(s, g int, class int32, box [4]float32, on func(y, x int) bool) {
		b.GTClassIDs[s*G+g] = class
		copy(b.GTBoxes[(s*G+g)*4:], box[:])
		for y := range d.MaskHeight {
			for x := range d.MaskWidth {
				b.GTMasks[((s*d.MaskHeight+y)*d.MaskWidth+x)*G+g] = on(y, x)
			}
		}
	}
	set(0, 0, 2, [4]float32{10, 20, 30, 60}, func(y, x int) bool { return x < 4 })
	set(0, 1, -1, [4]float32{0, 0, 20, 20}, func(y, x int) bool { return true })
	set(1, 0, 1, [4]float32{0, 0, 64, 96}, func(y, x int) bool { return true })
	return b
}

func TestPredictWithoutDegradationGivesTheGroundTruth(t *testing.T) {
	b := predictBatch()
	p := predictWith(b, degradation{})
	if p.N != 4 || p.MaskHeight != PredictMaskSize || p.MaskWidth != PredictMaskSize || p.Classes != 3 {
		t.Fatalf("prediction sizes N=%d %dx%dx%d", p.N, p.MaskHeight, p.MaskWidth, p.Classes)
	}
	row := func(s, k int) []float32 { return p.Detections[(s*p.N+k)*6 : (s*p.N+k)*6+6] }
	// Image 4: the instance first (score σ(3+u) > σ(-3+u)), then the false
	// positive; the crowd region is not detected; the rest is padding.
	got := row(0, 0)
	want := []float32{10.0 / 63, 20.0 / 95, 29.0 / 63, 59.0 / 95, 2}
	for i, w := range want {
		if got[i] != w {
			t.Errorf("image 4 detection 0 = %v, want %v", got[:5], want)
			break
		}
	}
	if s := float64(got[5]); s < 1/(1+math.Exp(-2)) || s >= 1/(1+math.Exp(-4)) {
		t.Errorf("instance score %v outside σ(3±1)", s)
	}
	if fp := row(0, 1); fp[4] != 1 || float64(fp[5]) > 1/(1+math.Exp(2)) {
		t.Errorf("false positive %v: want class 1 scored at most σ(-2)", fp)
	}
	for k := 2; k < p.N; k++ {
		if r := row(0, k); !reflect.DeepEqual(r, make([]float32, 6)) {
			t.Errorf("row %d = %v, want padding", k, r)
		}
	}
	// The instance's mask: its left half, in channel 2 only.
	const S = PredictMaskSize
	for i := range S {
		for j := range S {
			for c := range 3 {
				v := p.Masks[((0*S+i)*S+j)*3+c]
				want := float32(0)
				if c == 2 && j < S/2 {
					want = 1
				}
				if v != want {
					t.Fatalf("mask cell (%d, %d) class %d = %v, want %v", i, j, c, v, want)
				}
			}
		}
	}
	// Image 7: the whole image.
	if got := row(1, 0); got[0] != 0 || got[1] != 0 || got[2] != 1 || got[3] != 1 || got[4] != 1 {
		t.Errorf("image 7 detection 0 = %v, want [0 0 1 1 1 ...]", got)
	}
}

func TestPredictDegradationBounds(t *testing.T) {
	b := predictBatch()
	for _, e := range []float64{0.2, 0.9} {
		p := predictWith(b, degradation{Class: e, Box: e, Mask: e})
		seen := 0
		for k := range 2 {
			r := p.Detections[k*6 : k*6+6]
			if r[4] != 2 {
				continue
			}
			seen++
			// Box centre within 0.3·e of the size of the true one (10..30 × 20..60).
			cy := (float64(r[0])*63 + float64(r[2])*63 + 1) / 2
			cx := (float64(r[1])*95 + float64(r[3])*95 + 1) / 2
			if math.Abs(cy-20) > 0.3*e*20+1e-4 || math.Abs(cx-40) > 0.3*e*40+1e-4 {
				t.Errorf("e=%v: centre (%v, %v) too far from (20, 40)", e, cy, cx)
			}
		}
		if seen != 1 {
			t.Errorf("e=%v: %d class-2 detections in image 4, want 1", e, seen)
		}
	}
}

func TestPredictFollowsTheWeights(t *testing.T) {
	ctx := context.Background()
	m := newSample(t)
	b := testBatch(3)
	anchors := make([]float32, 4*b.Anchors)
	p1, err := m.Predict(ctx, b, anchors)
	if err != nil {
		t.Fatal(err)
	}
	p2, _ := m.Predict(ctx, b, anchors)
	if !reflect.DeepEqual(p1, p2) {
		t.Error("two predictions with the same weights differ")
	}
	groups := groupOf(t, m)
	p := train.StepParams{LearningRate: 0.01, LRMultipliers: mults(groups, map[string]float32{"mrcnn_class": 1, "mrcnn_bbox": 1}), LossWeights: ones()}
	for range 5 {
		if _, err := m.Step(ctx, b, p); err != nil {
			t.Fatal(err)
		}
	}
	p3, _ := m.Predict(ctx, b, nil)
	if reflect.DeepEqual(p1.Detections, p3.Detections) {
		t.Error("the heads trained but the detections did not change")
	}
	if _, err := m.Predict(ctx, b, anchors[:4]); err == nil {
		t.Error("an anchor tensor of the wrong size accepted")
	}
	if _, err := m.Predict(ctx, nil, nil); err == nil {
		t.Error("a nil batch accepted")
	}
}
