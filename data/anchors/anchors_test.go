package anchors

import (
	"math"
	"sync"
	"testing"
)

func matterport() Config {
	return Config{
		Scales:       []float64{32, 64, 128, 256, 512},
		Ratios:       []float64{0.5, 1, 2},
		Strides:      []int{4, 8, 16, 32, 64},
		AnchorStride: 1,
	}
}

func near(a, b Box) bool {
	for i := range a {
		if math.Abs(a[i]-b[i]) > 1e-9 {
			return false
		}
	}
	return true
}

func TestCount(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		h, w int
		want int
	}{
		// (256² + 128² + 64² + 32² + 16²) × 3
		{"1024 square", matterport(), 1024, 1024, 261888},
		// ceil(100/4)=25, ceil(100/8)=13, 7, 4, 2 per side
		{"100 square rounds up", matterport(), 100, 100, 3 * (25*25 + 13*13 + 7*7 + 4*4 + 2*2)},
		// anchor stride 2: ceil(ceil(64/4)/2)=8 ...: 8², 4², 2², 1², 1²
		{"anchor stride 2", Config{Scales: []float64{32, 64, 128, 256, 512}, Ratios: []float64{0.5, 1, 2}, Strides: []int{4, 8, 16, 32, 64}, AnchorStride: 2}, 64, 64, 3 * (64 + 16 + 4 + 1 + 1)},
		{"one ratio, 64x128", Config{Scales: []float64{8}, Ratios: []float64{1}, Strides: []int{16}, AnchorStride: 1}, 64, 128, 4 * 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Generate(tt.cfg, tt.h, tt.w)
			if err != nil {
				t.Fatal(err)
			}
			if s.Len() != tt.want || Count(tt.cfg, tt.h, tt.w) != tt.want {
				t.Fatalf("got %d anchors (Count %d), want %d", s.Len(), Count(tt.cfg, tt.h, tt.w), tt.want)
			}
		})
	}
}

func TestOrderAndValues(t *testing.T) {
	s, err := Generate(matterport(), 1024, 1024)
	if err != nil {
		t.Fatal(err)
	}
	// 32/sqrt(0.5)/2 = 22.627416997969522, 32*sqrt(0.5)/2 = 11.313708498984761.
	const h05, w05 = 22.627416997969522, 11.313708498984761
	// 512/sqrt(2)/2 = 181.01933598375618, 512*sqrt(2)/2 = 362.03867196751236.
	const h2, w2 = 181.01933598375618, 362.03867196751236
	tests := []struct {
		i    int
		want Box
	}{
		{0, Box{-h05, -w05, h05, w05}},                            // level 0, row 0, col 0, ratio 0.5
		{1, Box{-16, -16, 16, 16}},                                // ratio 1
		{2, Box{-w05, -h05, w05, h05}},                            // ratio 2: wide
		{3, Box{-h05, 4 - w05, h05, 4 + w05}},                     // col 1: x centre 4
		{256 * 3, Box{4 - h05, -w05, 4 + h05, w05}},               // row 1: y centre 4
		{256*256*3 + 1, Box{-32, -32, 32, 32}},                    // level 1 starts, ratio 1
		{261888 - 1, Box{960 - h2, 960 - w2, 960 + h2, 960 + w2}}, // last: level 4, row 15, col 15, ratio 2
		{261888 - 2, Box{960 - 256, 960 - 256, 960 + 256, 960 + 256}},
	}
	for _, tt := range tests {
		if got := s.Boxes[tt.i]; !near(got, tt.want) {
			t.Errorf("anchor %d = %v, want %v", tt.i, got, tt.want)
		}
	}
	if s.Boxes[1] != (Box{-16, -16, 16, 16}) {
		t.Errorf("ratio-1 anchor not exact: %v", s.Boxes[1])
	}
	if got := s.Levels[4].Offset; got != 261888-16*16*3 {
		t.Errorf("level 4 offset %d", got)
	}
}

func TestNormalized(t *testing.T) {
	s, err := Generate(Config{Scales: []float64{4}, Ratios: []float64{1}, Strides: []int{4}, AnchorStride: 1}, 5, 9)
	if err != nil {
		t.Fatal(err)
	}
	// first anchor [-2,-2,2,2]: ((-2)/4, (-2)/8, (2-1)/4, (2-1)/8)
	n := s.Normalized()
	want := []float32{-0.5, -0.25, 0.25, 0.125}
	for i, w := range want {
		if n[i] != w {
			t.Fatalf("normalized[%d] = %v, want %v", i, n[i], w)
		}
	}
	if len(n) != 4*s.Len() {
		t.Fatalf("len %d", len(n))
	}
}

func TestCacheConcurrent(t *testing.T) {
	c, err := NewCache(matterport())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	sets := make([]*Set, 8)
	for i := range sets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sets[i], _ = c.Get(256, 512)
		}()
	}
	wg.Wait()
	for _, s := range sets {
		if s == nil || s != sets[0] {
			t.Fatal("cache returned different sets for one shape")
		}
	}
}

func TestValidate(t *testing.T) {
	bad := matterport()
	bad.Strides = bad.Strides[:4]
	if _, err := Generate(bad, 64, 64); err == nil {
		t.Fatal("mismatched scales and strides accepted")
	}
	if _, err := Generate(matterport(), 0, 64); err == nil {
		t.Fatal("empty image accepted")
	}
}
