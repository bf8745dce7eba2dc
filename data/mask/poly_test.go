package mask

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// Cases traced by hand through maskApi's rleFrPoly (5× upsampling, column
// crossings at fine x = 5k+2, rows from ceil((v+.5)/5-.5)).
func TestFromPolygonKnown(t *testing.T) {
	tests := []struct {
		name   string
		xy     []float64
		h, w   int
		counts []uint32
	}{
		{
			// Integer box: exactly its 10×10 pixels.
			name: "box", xy: []float64{0, 0, 0, 10, 10, 10, 10, 0}, h: 20, w: 20,
			counts: append(append([]uint32{0}, slices.Repeat([]uint32{10}, 19)...), 210),
		},
		{
			// Right triangle with legs 10: column k keeps rows 0..8-k; the
			// centres on the hypotenuse (x+y = 9) stay out.
			name: "triangle", xy: []float64{0, 0, 10, 0, 0, 10}, h: 10, w: 10,
			counts: []uint32{0, 9, 1, 8, 2, 7, 3, 6, 4, 5, 5, 4, 6, 3, 7, 2, 8, 1, 9 + 10},
		},
		{
			// Half-pixel box: the fine corners round to 3 and 13, giving
			// columns and rows 1..2.
			name: "half-pixel box", xy: []float64{0.5, 0.5, 0.5, 2.5, 2.5, 2.5, 2.5, 0.5}, h: 5, w: 5,
			counts: []uint32{6, 2, 3, 2, 12},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := FromPolygon(tc.xy, tc.h, tc.w)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(r.Counts, tc.counts) {
				t.Errorf("counts = %v\nwant     %v", r.Counts, tc.counts)
			}
			// The reversed polygon traces the same boundary.
			rev := make([]float64, 0, len(tc.xy))
			for i := len(tc.xy) - 2; i >= 0; i -= 2 {
				rev = append(rev, tc.xy[i], tc.xy[i+1])
			}
			r2, err := FromPolygon(rev, tc.h, tc.w)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(r2.Counts, tc.counts) {
				t.Errorf("reversed counts = %v", r2.Counts)
			}
		})
	}
}

// Integer boxes, also reaching outside the image, cover exactly the pixels
// x0 <= x < x0+w, y0 <= y < y0+h inside the image; unions and
// intersections of several follow.
func TestFromBBoxAgainstDense(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for it := 0; it < 300; it++ {
		h, w := 1+rng.IntN(30), 1+rng.IntN(30)
		n := 1 + rng.IntN(3)
		rs := make([]RLE, n)
		dense := make([][]bool, n)
		for i := range rs {
			b := BBox{float64(rng.IntN(w+10) - 5), float64(rng.IntN(h+10) - 5), float64(1 + rng.IntN(w)), float64(1 + rng.IntN(h))}
			r, err := FromBBox(b, h, w)
			if err != nil {
				t.Fatal(err)
			}
			rs[i] = r
			m := make([]bool, h*w)
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					m[y*w+x] = float64(x) >= b[0] && float64(x) < b[0]+b[2] && float64(y) >= b[1] && float64(y) < b[1]+b[3]
				}
			}
			dense[i] = m
			got, err := Decode(r)
			if err != nil {
				t.Fatalf("box %v in %d×%d: %v (counts %v)", b, h, w, err, r.Counts)
			}
			if !slices.Equal(got, m) {
				t.Fatalf("box %v in %d×%d: counts %v", b, h, w, r.Counts)
			}
		}
		union, err := Merge(rs, false)
		if err != nil {
			t.Fatal(err)
		}
		want := make([]bool, h*w)
		for p := range want {
			for i := range dense {
				want[p] = want[p] || dense[i][p]
			}
		}
		if got, _ := Decode(union); !slices.Equal(got, want) {
			t.Fatalf("union of boxes wrong: %v", union.Counts)
		}
	}
}

func TestFromPolygonsUnion(t *testing.T) {
	// Two disjoint boxes as one two-part segmentation.
	r, err := FromPolygons([][]float64{{0, 0, 0, 2, 2, 2, 2, 0}, {3, 3, 3, 4, 4, 4, 4, 3}}, 5, 5)
	if err != nil {
		t.Fatal(err)
	}
	want, _, _ := grid("11000", "11000", "00000", "00010", "00000")
	got, err := Decode(r)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("union counts %v", r.Counts)
	}
	if r.Area() != 5 {
		t.Errorf("area %d, want 5", r.Area())
	}
}

func TestFromPolygonErrors(t *testing.T) {
	for _, xy := range [][]float64{
		{0, 0, 1},
		{0, 0, 1e300, 0, 1, 1},
		{0, 0, 5e7, 0, 5e7, 5e7},
	} {
		if _, err := FromPolygon(xy, 10, 10); err == nil {
			t.Errorf("FromPolygon(%v) accepted", xy)
		}
	}
	r, err := FromPolygon([]float64{0, 0, 10, 0, 0, 10}, 0, 7)
	if err != nil || r.Area() != 0 || r.H != 0 {
		t.Errorf("empty image: %v %v", r, err)
	}
}
