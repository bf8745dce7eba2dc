package rpn_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/graftrain/graftrain/data/anchors"
	"github.com/graftrain/graftrain/data/rpn"
	"github.com/graftrain/graftrain/internal/npytest"
)

// testdata/reference holds the deterministic part of matterport's
// build_rpn_targets computed with numpy by tools/reference/gen.py: the match
// labels before subsampling and the deltas of every positive.
const refDir = "testdata/reference"

type refCase struct {
	name   string
	ids    []int32
	boxes  []anchors.Box
	labels []int
	deltas []float64 // 4 per reference positive, in anchor order
}

func loadReference(t *testing.T, dir string) (*anchors.Set, [4]float64, []refCase) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		RPN struct {
			Shape        [2]int     `json:"shape"`
			Scales       []float64  `json:"scales"`
			Ratios       []float64  `json:"ratios"`
			Strides      []int      `json:"strides"`
			AnchorStride int        `json:"anchor_stride"`
			StdDev       [4]float64 `json:"std_dev"`
			Cases        []struct {
				Name string `json:"name"`
			} `json:"cases"`
		} `json:"rpn"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	r := m.RPN
	set, err := anchors.Generate(anchors.Config{Scales: r.Scales, Ratios: r.Ratios, Strides: r.Strides, AnchorStride: r.AnchorStride}, r.Shape[0], r.Shape[1])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "anchors.npy")); err == nil {
		want := npytest.Load(t, filepath.Join(dir, "anchors.npy")).Float64(t)
		if len(want) != 4*set.Len() {
			t.Fatalf("%d anchors, the reference has %d", set.Len(), len(want)/4)
		}
		for i, a := range set.Boxes {
			for k := range 4 {
				if a[k] != want[4*i+k] {
					t.Fatalf("anchor %d differs from the reference: %v vs %v", i, a, want[4*i:4*i+4])
				}
			}
		}
	}
	if len(r.Cases) == 0 {
		t.Fatal("manifest lists no RPN cases")
	}
	var cases []refCase
	for _, c := range r.Cases {
		rc := refCase{name: c.Name}
		for _, v := range npytest.Load(t, filepath.Join(dir, c.Name+".ids.npy")).Int(t) {
			rc.ids = append(rc.ids, int32(v))
		}
		bx := npytest.Load(t, filepath.Join(dir, c.Name+".boxes.npy")).Int(t)
		for i := 0; i < len(bx); i += 4 {
			rc.boxes = append(rc.boxes, anchors.Box{float64(bx[i]), float64(bx[i+1]), float64(bx[i+2]), float64(bx[i+3])})
		}
		rc.labels = npytest.Load(t, filepath.Join(dir, c.Name+".labels.npy")).Int(t)
		rc.deltas = npytest.Load(t, filepath.Join(dir, c.Name+".deltas.npy")).Float64(t)
		cases = append(cases, rc)
	}
	return set, r.StdDev, cases
}

// checkDelta compares one bbox row with the reference deltas of anchor row k:
// the float64 deltas the model receives as float32, to 1e-6 relative (a
// tiny box's best anchor can be tens of anchor sizes away, where float32's
// spacing exceeds 1e-6).
func checkDelta(t *testing.T, anchor int, got []float32, want []float64) {
	t.Helper()
	for k := range 4 {
		if got[k] != float32(want[k]) && math.Abs(float64(got[k])-want[k]) > 1e-6*max(1, math.Abs(want[k])) {
			t.Errorf("anchor %d delta %d: got %v, want %v", anchor, k, got[k], want[k])
		}
	}
}

// With room for every anchor nothing is subsampled, so the targets must equal
// the reference labels and deltas exactly.
func TestReferenceTargetsUnsampled(t *testing.T) {
	set, std, cases := loadReference(t, refDir)
	for _, c := range cases {
		testUnsampled(t, set, std, c)
	}
}

func testUnsampled(t *testing.T, set *anchors.Set, std [4]float64, c refCase) {
	t.Run(c.name, func(t *testing.T) {
		n := set.Len()
		train := 2 * n
		bld, err := rpn.NewBuilder(rpn.Config{TrainAnchors: train, StdDev: std})
		if err != nil {
			t.Fatal(err)
		}
		match := make([]int32, n)
		bbox := make([]float32, 4*train)
		st, err := bld.Build(set, c.ids, c.boxes, rand.New(rand.NewPCG(3, 4)), match, bbox)
		if err != nil {
			t.Fatal(err)
		}
		pos, neg := 0, 0
		for i := range match {
			if int(match[i]) != c.labels[i] {
				t.Fatalf("anchor %d %v: match %d, want %d", i, set.Boxes[i], match[i], c.labels[i])
			}
			switch c.labels[i] {
			case 1:
				checkDelta(t, i, bbox[4*pos:], c.deltas[4*pos:])
				pos++
			case -1:
				neg++
			}
		}
		if st.Positive != pos || st.Negative != neg {
			t.Errorf("stats %d positive %d negative, want %d and %d", st.Positive, st.Negative, pos, neg)
		}
		for i := 4 * pos; i < len(bbox); i++ {
			if bbox[i] != 0 {
				t.Fatalf("bbox[%d] = %v after the %d positives, want 0", i, bbox[i], pos)
			}
		}
	})
}

// With matterport's 256 anchors (and 64, so that positives are subsampled
// too) the random part differs from numpy's, but the kept anchors must be a
// subset of the reference labels, in the counts build_rpn_targets keeps, with
// each positive's reference deltas.
func TestReferenceTargetsSampled(t *testing.T) {
	set, std, cases := loadReference(t, refDir)
	for _, train := range []int{256, 64} {
		bld, err := rpn.NewBuilder(rpn.Config{TrainAnchors: train, StdDev: std})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			testSampled(t, set, bld, train, c)
		}
	}
}

func testSampled(t *testing.T, set *anchors.Set, bld *rpn.Builder, train int, c refCase) {
	t.Run(fmt.Sprintf("%s/%d", c.name, train), func(t *testing.T) {
		refPos, refNeg := 0, 0
		row := make(map[int]int) // anchor -> index among the reference positives
		for i, l := range c.labels {
			switch l {
			case 1:
				row[i] = refPos
				refPos++
			case -1:
				refNeg++
			}
		}
		for seed := range uint64(3) {
			match := make([]int32, set.Len())
			bbox := make([]float32, 4*train)
			if _, err := bld.Build(set, c.ids, c.boxes, rand.New(rand.NewPCG(seed, 9)), match, bbox); err != nil {
				t.Fatal(err)
			}
			pos, neg := 0, 0
			for i, m := range match {
				if m != 0 && int(m) != c.labels[i] {
					t.Fatalf("seed %d anchor %d: match %d, the reference label is %d", seed, i, m, c.labels[i])
				}
				switch m {
				case 1:
					checkDelta(t, i, bbox[4*pos:], c.deltas[4*row[i]:])
					pos++
				case -1:
					neg++
				}
			}
			wantPos := min(refPos, train/2)
			if wantNeg := min(refNeg, train-wantPos); pos != wantPos || neg != wantNeg {
				t.Errorf("seed %d: %d positive %d negative, want %d and %d", seed, pos, neg, wantPos, wantNeg)
			}
		}
	})
}

// TestReferenceRandom sweeps random GT boxes (1 to 30, 2 to 700 pixels, some
// crowds) on matterport's 1024² anchors through the Python reference when
// Debian's python3 with numpy is installed.
func TestReferenceRandom(t *testing.T) {
	dir := npytest.RandomCases(t, "rpn", 20261128, 8)
	set, std, cases := loadReference(t, dir)
	bld, err := rpn.NewBuilder(rpn.Config{TrainAnchors: 256, StdDev: std})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		testUnsampled(t, set, std, c)
		testSampled(t, set, bld, 256, c)
	}
}
