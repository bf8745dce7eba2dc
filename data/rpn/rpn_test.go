package rpn

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/graftrain/graftrain/data/anchors"
)

// grid4 is a 16×16 image with one level (scale 8, ratio 1, stride 8): four
// anchors [-4,-4,4,4], [-4,4,4,12], [4,-4,12,4], [4,4,12,12].
func grid4(t *testing.T) *anchors.Set {
	t.Helper()
	s, err := anchors.Generate(anchors.Config{Scales: []float64{8}, Ratios: []float64{1}, Strides: []int{8}, AnchorStride: 1}, 16, 16)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var std = [4]float64{0.1, 0.1, 0.2, 0.2}

func TestBuildHandComputed(t *testing.T) {
	tests := []struct {
		name      string
		train     int
		classIDs  []int32
		boxes     []anchors.Box
		wantMatch []int32
		wantBBox  []float64 // first rows of bbox
	}{
		{
			// IoU with anchor 3 = 64/80 = 0.8; deltas dx = 1/8, dw = log(10/8).
			name: "one positive", train: 4,
			classIDs: []int32{1}, boxes: []anchors.Box{{4, 4, 12, 14}},
			wantMatch: []int32{-1, -1, -1, 1},
			wantBBox:  []float64{0, 0.125 / 0.1, 0, math.Log(10.0/8) / 0.2},
		},
		{
			// Anchors 0 and 1 tie at IoU 16/80 = 0.2, the box's best: both positive.
			name: "ties for the best are all positive", train: 4,
			classIDs: []int32{3}, boxes: []anchors.Box{{0, 0, 4, 8}},
			wantMatch: []int32{1, 1, -1, -1},
			wantBBox: []float64{
				2.0 / 8 / 0.1, 4.0 / 8 / 0.1, math.Log(4.0/8) / 0.2, 0,
				2.0 / 8 / 0.1, -4.0 / 8 / 0.1, math.Log(4.0/8) / 0.2, 0,
			},
		},
		{
			// The crowd box overlaps anchor 0 with IoU 1/64 >= 0.001: not negative.
			name: "crowd blocks negatives only", train: 4,
			classIDs: []int32{1, -2}, boxes: []anchors.Box{{4, 4, 12, 14}, {0, 0, 1, 1}},
			wantMatch: []int32{0, -1, -1, 1},
			wantBBox:  []float64{0, 0.125 / 0.1, 0, math.Log(10.0/8) / 0.2},
		},
		{
			// Anchor 0 is positive as box A's tied best (0.2) but overlaps box B
			// more (35/64): its deltas are against B. Anchor 1 keeps A.
			name: "deltas against the max-IoU box", train: 4,
			classIDs: []int32{1, 2}, boxes: []anchors.Box{{0, 0, 4, 8}, {-4, -4, 3, 1}},
			wantMatch: []int32{1, 1, -1, -1},
			wantBBox: []float64{
				-0.5 / 8 / 0.1, -1.5 / 8 / 0.1, math.Log(7.0/8) / 0.2, math.Log(5.0/8) / 0.2,
				2.0 / 8 / 0.1, -4.0 / 8 / 0.1, math.Log(4.0/8) / 0.2, 0,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := NewBuilder(Config{TrainAnchors: tt.train, StdDev: std})
			if err != nil {
				t.Fatal(err)
			}
			set := grid4(t)
			match := make([]int32, set.Len())
			bbox := make([]float32, 4*tt.train)
			if _, err := b.Build(set, tt.classIDs, tt.boxes, rand.New(rand.NewPCG(1, 2)), match, bbox); err != nil {
				t.Fatal(err)
			}
			for i := range match {
				if match[i] != tt.wantMatch[i] {
					t.Fatalf("match = %v, want %v", match, tt.wantMatch)
				}
			}
			for i, w := range tt.wantBBox {
				if bbox[i] != float32(w) {
					t.Fatalf("bbox[%d] = %v, want %v (bbox %v)", i, bbox[i], float32(w), bbox)
				}
			}
			for i := len(tt.wantBBox); i < len(bbox); i++ {
				if bbox[i] != 0 {
					t.Fatalf("bbox[%d] = %v after the positives, want 0", i, bbox[i])
				}
			}
		})
	}
}

func TestSubsampleDeterministic(t *testing.T) {
	set := grid4(t)
	run := func(seed uint64) ([]int32, []float32) {
		b, _ := NewBuilder(Config{TrainAnchors: 2, StdDev: std})
		match := make([]int32, 4)
		bbox := make([]float32, 8)
		st, err := b.Build(set, []int32{1}, []anchors.Box{{0, 0, 4, 8}}, rand.New(rand.NewPCG(seed, 0)), match, bbox)
		if err != nil {
			t.Fatal(err)
		}
		if st.Positive != 1 || st.Negative != 1 {
			t.Fatalf("stats %+v, want 1 positive (half of 2) and 1 negative", st)
		}
		return match, bbox
	}
	seen := map[[4]int32]bool{}
	for seed := uint64(0); seed < 32; seed++ {
		m1, b1 := run(seed)
		m2, b2 := run(seed)
		if [4]int32(m1) != [4]int32(m2) || [8]float32(b1) != [8]float32(b2) {
			t.Fatalf("seed %d not deterministic", seed)
		}
		var pos, neg int
		for _, v := range m1 {
			switch v {
			case 1:
				pos++
			case -1:
				neg++
			}
		}
		if pos != 1 || neg != 1 {
			t.Fatalf("match %v", m1)
		}
		seen[[4]int32(m1)] = true
	}
	if len(seen) < 3 {
		t.Fatalf("subsampling picked only %d distinct outcomes over 32 seeds", len(seen))
	}
}

func TestZeroBestMakesEveryZeroAnchorPositive(t *testing.T) {
	// A zero-area box has IoU 0 with every anchor, so matterport's
	// overlaps == max rule marks all anchors positive; the cap keeps half.
	set := grid4(t)
	b, _ := NewBuilder(Config{TrainAnchors: 4, StdDev: std})
	match := make([]int32, 4)
	st, err := b.Build(set, []int32{1}, []anchors.Box{{5, 5, 5, 5}}, rand.New(rand.NewPCG(3, 3)), match, make([]float32, 16))
	if err != nil {
		t.Fatal(err)
	}
	if st.Positive != 2 || st.Negative != 0 {
		t.Fatalf("stats %+v match %v, want 2 positives, 0 negatives", st, match)
	}
}

func TestNoBoxes(t *testing.T) {
	set := grid4(t)
	b, _ := NewBuilder(Config{TrainAnchors: 4, StdDev: std})
	_, err := b.Build(set, []int32{-1}, []anchors.Box{{0, 0, 4, 4}}, rand.New(rand.NewPCG(1, 1)), make([]int32, 4), make([]float32, 16))
	if !errors.Is(err, ErrNoBoxes) {
		t.Fatalf("crowd-only image: err %v, want ErrNoBoxes", err)
	}
}

// reference is build_rpn_targets' labelling before subsampling, computed
// over the full anchors × boxes matrix as matterport does.
func reference(set *anchors.Set, classIDs []int32, boxes []anchors.Box) ([]int32, []int32) {
	var gts, crowds []anchors.Box
	for i, c := range classIDs {
		if c > 0 {
			gts = append(gts, boxes[i])
		} else if c < 0 {
			crowds = append(crowds, boxes[i])
		}
	}
	A := set.Len()
	full := func(a anchors.Box, g anchors.Box) float64 {
		y1, y2 := math.Max(g[0], a[0]), math.Min(g[2], a[2])
		x1, x2 := math.Max(g[1], a[1]), math.Min(g[3], a[3])
		inter := math.Max(x2-x1, 0) * math.Max(y2-y1, 0)
		return inter / ((g[2]-g[0])*(g[3]-g[1]) + (a[2]-a[0])*(a[3]-a[1]) - inter)
	}
	ov := make([][]float64, A)
	colMax := make([]float64, len(gts))
	for a := range ov {
		ov[a] = make([]float64, len(gts))
		for j, g := range gts {
			ov[a][j] = full(set.Boxes[a], g)
			colMax[j] = math.Max(colMax[j], ov[a][j])
		}
	}
	match := make([]int32, A)
	arg := make([]int32, A)
	for a := range ov {
		best := 0
		for j := range gts {
			if ov[a][j] > ov[a][best] {
				best = j
			}
		}
		arg[a] = int32(best)
		crowdMax := 0.0
		for _, c := range crowds {
			crowdMax = math.Max(crowdMax, full(set.Boxes[a], c))
		}
		if ov[a][best] < 0.3 && crowdMax < 0.001 {
			match[a] = -1
		}
	}
	for a := range ov {
		for j := range gts {
			if ov[a][j] == colMax[j] {
				match[a] = 1
			}
		}
	}
	for a := range ov {
		if ov[a][arg[a]] >= 0.7 {
			match[a] = 1
		}
	}
	return match, arg
}

func TestAgainstFullMatrix(t *testing.T) {
	cfg := anchors.Config{Scales: []float64{32, 64, 128, 256, 512}, Ratios: []float64{0.5, 1, 2}, Strides: []int{4, 8, 16, 32, 64}, AnchorStride: 1}
	set, err := anchors.Generate(cfg, 256, 320)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 7))
	for trial := 0; trial < 5; trial++ {
		var ids []int32
		var boxes []anchors.Box
		for k := 0; k < 12; k++ {
			y1, x1 := float64(rng.IntN(250)), float64(rng.IntN(310))
			boxes = append(boxes, anchors.Box{y1, x1, y1 + 1 + float64(rng.IntN(250-int(y1)+5)), x1 + 1 + float64(rng.IntN(310-int(x1)+9))})
			id := int32(1 + rng.IntN(3))
			if k%5 == 4 {
				id = -id
			}
			ids = append(ids, id)
		}
		wantMatch, wantArg := reference(set, ids, boxes)
		// TrainAnchors large enough that nothing is subsampled.
		n := 2 * set.Len()
		b, _ := NewBuilder(Config{TrainAnchors: n, StdDev: std})
		match := make([]int32, set.Len())
		bbox := make([]float32, 4*n)
		if _, err := b.Build(set, ids, boxes, rng, match, bbox); err != nil {
			t.Fatal(err)
		}
		var gts []anchors.Box
		for i, c := range ids {
			if c > 0 {
				gts = append(gts, boxes[i])
			}
		}
		ix := 0
		for a := range match {
			if match[a] != wantMatch[a] {
				t.Fatalf("trial %d anchor %d: match %d, want %d", trial, a, match[a], wantMatch[a])
			}
			if match[a] == 1 {
				g := gts[wantArg[a]]
				an := set.Boxes[a]
				want := float32(math.Log((g[2]-g[0])/(an[2]-an[0])) / 0.2)
				if bbox[4*ix+2] != want {
					t.Fatalf("trial %d anchor %d: dh %v, want %v", trial, a, bbox[4*ix+2], want)
				}
				ix++
			}
		}
	}
}

func BenchmarkBuild1024x20(b *testing.B) {
	cfg := anchors.Config{Scales: []float64{32, 64, 128, 256, 512}, Ratios: []float64{0.5, 1, 2}, Strides: []int{4, 8, 16, 32, 64}, AnchorStride: 1}
	set, err := anchors.Generate(cfg, 1024, 1024)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var ids []int32
	var boxes []anchors.Box
	for k := 0; k < 20; k++ {
		y1, x1 := float64(rng.IntN(900)), float64(rng.IntN(900))
		boxes = append(boxes, anchors.Box{y1, x1, y1 + 16 + float64(rng.IntN(1024-int(y1)-15)), x1 + 16 + float64(rng.IntN(1024-int(x1)-15))})
		ids = append(ids, 1)
	}
	bd, _ := NewBuilder(Config{TrainAnchors: 256, StdDev: std})
	match := make([]int32, set.Len())
	bbox := make([]float32, 4*256)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := bd.Build(set, ids, boxes, rng, match, bbox); err != nil {
			b.Fatal(err)
		}
	}
}

func TestBestIoU(t *testing.T) {
	set := grid4(t)
	tests := []struct {
		box  anchors.Box
		want float64
	}{
		{anchors.Box{4, 4, 12, 14}, 0.8}, // 64/80 with anchor 3
		{anchors.Box{0, 0, 4, 8}, 0.2},   // 16/80 with anchors 0 and 1
		{anchors.Box{-4, -4, 4, 4}, 1},   // anchor 0 itself
		{anchors.Box{30, 30, 40, 40}, 0}, // outside every anchor
	}
	for _, tt := range tests {
		if got := BestIoU(set, tt.box); got != tt.want {
			t.Errorf("BestIoU(%v) = %v, want %v", tt.box, got, tt.want)
		}
	}
}
