package mask

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	"github.com/graftrain/graftrain/internal/fixtures"
)

// grid builds a row-major mask from rows of '0'/'1'.
func grid(rows ...string) ([]bool, int, int) {
	h, w := len(rows), len(rows[0])
	m := make([]bool, h*w)
	for y, r := range rows {
		for x := range r {
			m[y*w+x] = r[x] == '1'
		}
	}
	return m, h, w
}

func TestEncodeKnown(t *testing.T) {
	tests := []struct {
		name   string
		rows   []string
		counts []uint32
		str    string
	}{
		// The examples of pycocotools' mask.py documentation, as one column.
		{"doc example 1", []string{"0", "0", "1", "1", "1", "0", "1"}, []uint32{2, 3, 1, 1}, "231N"},
		{"doc example 2", []string{"1", "1", "1", "1", "1", "1", "0"}, []uint32{0, 6, 1}, "061"},
		{"all zeros", []string{"000", "000"}, []uint32{6}, "6"},
		{"all ones", []string{"11", "11"}, []uint32{0, 4}, "04"},
		// Column-major: column 0 is (1,0), column 1 is (1,1).
		{"column major", []string{"11", "01"}, []uint32{0, 1, 1, 2}, "0111"},
		{"right column", []string{"01", "01", "01"}, []uint32{3, 3}, "33"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, h, w := grid(tc.rows...)
			r, err := Encode(m, h, w)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(r.Counts, tc.counts) {
				t.Errorf("counts = %v, want %v", r.Counts, tc.counts)
			}
			if s := r.String(); s != tc.str {
				t.Errorf("string = %q, want %q", s, tc.str)
			}
			back, err := FromString(tc.str, h, w)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(back.Counts, tc.counts) {
				t.Errorf("FromString counts = %v, want %v", back.Counts, tc.counts)
			}
			dense, err := Decode(r)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(dense, m) {
				t.Errorf("decode = %v, want %v", dense, m)
			}
		})
	}
}

// The compressed form worked by hand from maskApi's rules: 5-bit groups,
// 0x20 continuation, sign bit 0x10, delta to the count two back from the
// fourth count on.
func TestStringKnown(t *testing.T) {
	tests := []struct {
		counts []uint32
		str    string
	}{
		{[]uint32{100}, "T3"},          // 100 = 4 + 3·32: '0'+4+0x20, '0'+3
		{[]uint32{31}, "o0"},           // 31 has bit 0x10 set: needs a 0 group
		{[]uint32{16}, "`0"},           // 16 = 0x10: '0'+16+32, then '0'
		{[]uint32{15}, "?"},            // 15 fits one group
		{[]uint32{1, 2, 3, 2}, "1230"}, // fourth: 2-2 = 0
		{[]uint32{1, 2, 3, 1}, "123O"}, // fourth: 1-2 = -1 → 31 → 'O'
		{[]uint32{0, 0, 0, 0, 0}, "00000"},
		// Fourth: 40-5 = 35 = 3 + 1·32 → '0'+3+0x20 = 'S', then '1';
		// fifth: 5-5 = 0.
		{[]uint32{5, 5, 5, 40, 5}, "555S10"},
	}
	for _, tc := range tests {
		var sum int
		for _, c := range tc.counts {
			sum += int(c)
		}
		r := RLE{H: sum, W: 1, Counts: tc.counts}
		if s := r.String(); s != tc.str {
			t.Errorf("%v: string = %q, want %q", tc.counts, s, tc.str)
		}
		back, err := FromString(tc.str, sum, 1)
		if err != nil {
			t.Errorf("%q: %v", tc.str, err)
			continue
		}
		if !slices.Equal(back.Counts, tc.counts) {
			t.Errorf("%q: counts = %v, want %v", tc.str, back.Counts, tc.counts)
		}
	}
}

func TestFromStringErrors(t *testing.T) {
	tests := []struct {
		s    string
		h, w int
		want error
	}{
		{"T", 100, 1, ErrSyntax},      // continuation with nothing after
		{"2 3", 5, 1, ErrSyntax},      // space outside the alphabet
		{"2p", 5, 1, ErrSyntax},       // 'p' is 112
		{"N", 1, 1, ErrSyntax},        // first count negative
		{"ooooooo0", 1, 1, ErrSyntax}, // longer than seven groups
		{"23", 4, 1, ErrSize},         // sums to 5
		{"", 1, 1, ErrSize},
	}
	for _, tc := range tests {
		_, err := FromString(tc.s, tc.h, tc.w)
		if !errors.Is(err, tc.want) {
			t.Errorf("FromString(%q, %d, %d) = %v, want %v", tc.s, tc.h, tc.w, err, tc.want)
		}
	}
}

// segmFixture returns the compressed RLEs of cocoapi's demo segmentation
// results, which pycocotools encoded.
func segmFixture(t testing.TB) []struct {
	Segmentation struct {
		Size   [2]int `json:"size"`
		Counts string `json:"counts"`
	} `json:"segmentation"`
} {
	p := fixtures.Path(t, "coco_val2014_100/fakesegm100.json")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var dets []struct {
		Segmentation struct {
			Size   [2]int `json:"size"`
			Counts string `json:"counts"`
		} `json:"segmentation"`
	}
	if err := json.Unmarshal(b, &dets); err != nil {
		t.Fatal(err)
	}
	return dets
}

// pycocotools' strings are canonical: parsing, re-encoding the dense mask
// and printing must give the same bytes back.
func TestFixtureStringsRoundTrip(t *testing.T) {
	dets := segmFixture(t)
	if len(dets) == 0 {
		t.Fatal("no detections in fixture")
	}
	for i, d := range dets {
		s := d.Segmentation
		r, err := FromString(s.Counts, s.Size[0], s.Size[1])
		if err != nil {
			t.Fatalf("detection %d: %v", i, err)
		}
		dense, err := Decode(r)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, v := range dense {
			if v {
				n++
			}
		}
		if n != r.Area() {
			t.Errorf("detection %d: dense pixels %d, Area %d", i, n, r.Area())
		}
		e, err := Encode(dense, r.H, r.W)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.String(); got != s.Counts {
			t.Fatalf("detection %d: re-encoded string differs\n got %.80s\nwant %.80s", i, got, s.Counts)
		}
		if bb, want := e.ToBBox(), denseBBox(dense, r.H, r.W); bb != want {
			t.Errorf("detection %d: bbox %v, dense %v", i, bb, want)
		}
	}
}

// denseBBox is the tight box of a dense mask computed pixel by pixel.
func denseBBox(m []bool, h, w int) BBox {
	x0, y0, x1, y1 := w, h, -1, -1
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if m[y*w+x] {
				x0, y0 = min(x0, x), min(y0, y)
				x1, y1 = max(x1, x), max(y1, y)
			}
		}
	}
	if x1 < 0 {
		return BBox{}
	}
	return BBox{float64(x0), float64(y0), float64(x1 - x0 + 1), float64(y1 - y0 + 1)}
}

func randomMask(rng *rand.Rand, h, w int) []bool {
	m := make([]bool, h*w)
	switch rng.IntN(3) {
	case 0: // noise
		p := rng.Float64()
		for i := range m {
			m[i] = rng.Float64() < p
		}
	case 1: // a few rectangles
		for k := rng.IntN(4); k >= 0; k-- {
			x0, y0 := rng.IntN(w), rng.IntN(h)
			x1, y1 := x0+rng.IntN(w-x0+1), y0+rng.IntN(h-y0+1)
			for y := y0; y < y1; y++ {
				for x := x0; x < x1; x++ {
					m[y*w+x] = true
				}
			}
		}
	case 2: // empty or nearly
		if rng.IntN(2) == 0 {
			m[rng.IntN(h*w)] = true
		}
	}
	return m
}

// Merge, Area, ToBBox and IoU checked against pixel-by-pixel computation on
// random masks.
func TestAgainstDense(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for it := 0; it < 500; it++ {
		h, w := 1+rng.IntN(12), 1+rng.IntN(12)
		n := 1 + rng.IntN(3)
		dense := make([][]bool, n)
		rs := make([]RLE, n)
		for i := range dense {
			dense[i] = randomMask(rng, h, w)
			r, err := Encode(dense[i], h, w)
			if err != nil {
				t.Fatal(err)
			}
			rs[i] = r
			back, err := FromString(r.String(), h, w)
			if err != nil || !slices.Equal(back.Counts, r.Counts) {
				t.Fatalf("string round trip of %v: %v %v", r.Counts, back.Counts, err)
			}
		}
		union := make([]bool, h*w)
		inter := make([]bool, h*w)
		for p := range union {
			inter[p] = true
			for i := range dense {
				union[p] = union[p] || dense[i][p]
				inter[p] = inter[p] && dense[i][p]
			}
		}
		for _, tc := range []struct {
			intersect bool
			want      []bool
		}{{false, union}, {true, inter}} {
			m, err := Merge(rs, tc.intersect)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decode(m)
			if err != nil {
				t.Fatalf("merge %v (intersect %v): %v", m.Counts, tc.intersect, err)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("merge intersect=%v of %v wrong", tc.intersect, rs)
			}
			if m.Area() != count(tc.want) {
				t.Fatalf("area %d, want %d", m.Area(), count(tc.want))
			}
			if m.ToBBox() != denseBBox(tc.want, h, w) {
				t.Fatalf("bbox of %v = %v, want %v", m.Counts, m.ToBBox(), denseBBox(tc.want, h, w))
			}
		}
		crowd := make([]bool, n)
		for i := range crowd {
			crowd[i] = rng.IntN(2) == 0
		}
		iou := IoU(rs, rs, crowd)
		for d := range rs {
			for g := range rs {
				i, u := 0, 0
				for p := range dense[d] {
					if dense[d][p] && dense[g][p] {
						i++
					}
					if dense[d][p] || dense[g][p] {
						u++
					}
				}
				if crowd[g] {
					u = count(dense[d])
				}
				want := 0.0
				if i > 0 {
					want = float64(i) / float64(u)
				}
				if iou[d][g] != want {
					t.Fatalf("iou[%d][%d] = %v, want %v", d, g, iou[d][g], want)
				}
			}
		}
	}
}

func count(m []bool) int {
	n := 0
	for _, v := range m {
		if v {
			n++
		}
	}
	return n
}

func TestMergeQuirks(t *testing.T) {
	// Both start with a 1: maskApi emits a zero-length first run.
	a := RLE{H: 4, W: 1, Counts: []uint32{0, 2, 2}}
	b := RLE{H: 4, W: 1, Counts: []uint32{0, 1, 3}}
	m, err := Merge([]RLE{a, b}, false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.Counts, []uint32{0, 2, 2}) {
		t.Errorf("union = %v, want [0 2 2]", m.Counts)
	}
	if _, err := Merge([]RLE{a, {H: 2, W: 2, Counts: []uint32{4}}}, false); !errors.Is(err, ErrSize) {
		t.Errorf("size mismatch: err = %v", err)
	}
	one, _ := Merge([]RLE{a}, true)
	if !slices.Equal(one.Counts, a.Counts) {
		t.Errorf("merge of one = %v", one.Counts)
	}
}

func TestIoUKnown(t *testing.T) {
	// 4×4: gt the left half (8 px), dt the top-left 2×2 (4 px).
	gtm, h, w := grid("1100", "1100", "1100", "1100")
	dtm, _, _ := grid("1100", "1100", "0000", "0000")
	gt, _ := Encode(gtm, h, w)
	dt, _ := Encode(dtm, h, w)
	other, _ := Encode(make([]bool, 9), 3, 3)
	got := IoU([]RLE{dt, other}, []RLE{gt, gt}, []bool{false, true})
	want := [][]float64{{0.5, 1}, {0, 0}}
	for d := range want {
		for g := range want[d] {
			if got[d][g] != want[d][g] {
				t.Errorf("iou[%d][%d] = %v, want %v", d, g, got[d][g], want[d][g])
			}
		}
	}
	full, _ := Encode([]bool{true, true, true, true, true, true, true, true, true}, 3, 3)
	// Sizes differ but boxes overlap: -1 as in maskApi.
	if v := IoU([]RLE{full}, []RLE{gt}, nil)[0][0]; v != -1 {
		t.Errorf("size mismatch iou = %v, want -1", v)
	}
}

func TestBBoxIoU(t *testing.T) {
	dt := []BBox{{0, 0, 10, 10}, {5, 5, 10, 10}, {20, 20, 1, 1}}
	gt := []BBox{{0, 0, 10, 10}, {0, 0, 20, 20}}
	got := BBoxIoU(dt, gt, []bool{false, true})
	want := [][]float64{
		{1, 1},          // inside the crowd box: 100/100
		{25.0 / 175, 1}, // 5×5 overlap; crowd: 100/100
		{0, 0},
	}
	for d := range want {
		for g := range want[d] {
			if got[d][g] != want[d][g] {
				t.Errorf("iou[%d][%d] = %v, want %v", d, g, got[d][g], want[d][g])
			}
		}
	}
}

func TestToBBoxQuirks(t *testing.T) {
	// A 1-run that wraps from column 0 into column 1 spans all rows.
	r := RLE{H: 3, W: 2, Counts: []uint32{2, 2, 2}}
	if got, want := r.ToBBox(), (BBox{0, 0, 2, 3}); got != want {
		t.Errorf("wrapping run bbox = %v, want %v", got, want)
	}
	if got := (RLE{H: 3, W: 2, Counts: []uint32{6}}).ToBBox(); got != (BBox{}) {
		t.Errorf("empty bbox = %v", got)
	}
}
