package image

import (
	"bytes"
	goimage "image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"testing"
)

func gray(h, w int, v ...uint8) *RGB {
	m := NewRGB(h, w)
	for i, x := range v {
		m.Pix[3*i], m.Pix[3*i+1], m.Pix[3*i+2] = x, x, x
	}
	return m
}

func channel0(m *RGB) []uint8 {
	out := make([]uint8, m.H*m.W)
	for i := range out {
		out[i] = m.Pix[3*i]
	}
	return out
}

func TestPlan(t *testing.T) {
	tests := []struct {
		name      string
		cfg       ResizeConfig
		h, w      int
		scale     float64
		sh, sw    int
		pad       [4]int
		window    [4]int
		outH, out int
	}{
		// 800/480 would make 640 → 1067 > 1024, so scale = 1024/640 = 1.6.
		{"square 640x480 as rows 480", ResizeConfig{MinDim: 800, MaxDim: 1024, Mode: ModeSquare}, 480, 640, 1.6, 768, 1024, [4]int{128, 128, 0, 0}, [4]int{128, 0, 896, 1024}, 1024, 1024},
		// 321 × 2.5 = 802.5 rounds half to even: 802 (math.Round would give 803).
		{"half to even", ResizeConfig{MinDim: 0, MinScale: 2.5, Mode: ModePad64}, 321, 100, 2.5, 802, 250, [4]int{15, 15, 3, 3}, [4]int{15, 3, 817, 253}, 832, 256},
		// Scale 1: nothing resampled; 1024 fits exactly.
		{"square no scale", ResizeConfig{MinDim: 800, MaxDim: 1024, Mode: ModeSquare}, 1024, 800, 1, 1024, 800, [4]int{0, 0, 112, 112}, [4]int{0, 112, 1024, 912}, 1024, 1024},
		{"none", ResizeConfig{Mode: ModeNone}, 30, 40, 1, 30, 40, [4]int{}, [4]int{0, 0, 30, 40}, 30, 40},
		// pad64 with a multiple of 64 already: no padding.
		{"pad64 exact", ResizeConfig{MinDim: 64, Mode: ModePad64}, 128, 64, 1, 128, 64, [4]int{}, [4]int{0, 0, 128, 64}, 128, 64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := Plan(tt.cfg, tt.h, tt.w, rand.New(rand.NewPCG(1, 1)))
			if err != nil {
				t.Fatal(err)
			}
			if g.Scale != tt.scale || g.ScaledH != tt.sh || g.ScaledW != tt.sw || g.Pad != tt.pad || g.Window != tt.window || g.OutH != tt.outH || g.OutW != tt.out {
				t.Fatalf("got %+v", g)
			}
		})
	}
}

func TestPlanCrop(t *testing.T) {
	cfg := ResizeConfig{MinDim: 64, Mode: ModeCrop}
	g, err := Plan(cfg, 32, 48, rand.New(rand.NewPCG(5, 5)))
	if err != nil {
		t.Fatal(err)
	}
	// scale = 64/32 = 2 → 64×96; the crop offset lies in [0, 0]×[0, 32].
	if g.ScaledH != 64 || g.ScaledW != 96 || !g.Cropped || g.Crop[0] != 0 || g.Crop[1] < 0 || g.Crop[1] > 32 || g.OutH != 64 || g.OutW != 64 {
		t.Fatalf("got %+v", g)
	}
	if _, err := Plan(ResizeConfig{MinDim: 100, Mode: ModePad64}, 10, 10, nil); err == nil {
		t.Fatal("pad64 with min dim 100 accepted")
	}
}

func TestZoomHandComputed(t *testing.T) {
	tests := []struct {
		name       string
		src        *RGB
		outH, outW int
		want       []uint8
	}{
		// taps at -0.25, 0.25, 0.75, 1.25; the border taps read 0 so the
		// last pixel is 0.75×100 = 75; the first, 0.75×40 = 30, is clipped up
		// to the image minimum 40.
		{"1x2 to 1x4 clipped", gray(1, 2, 40, 100), 1, 4, []uint8{40, 55, 85, 75}},
		// 0.25×101 = 25.25 and 0.75×101 = 75.75 truncate to 25 and 75.
		{"truncation", gray(1, 2, 0, 101), 1, 4, []uint8{0, 25, 75, 75}},
		// [1][1] = 100×.1875 + 200×.1875 + 40×.0625 = 58.75, [2][1] = 126.25,
		// [3][3] = 40×.5625 = 22.5.
		{"2x2 to 4x4", gray(2, 2, 0, 100, 200, 40), 4, 4, []uint8{
			0, 18, 56, 56,
			37, 58, 76, 63,
			112, 126, 78, 41,
			112, 120, 60, 22,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Resizer
			dst := NewRGB(tt.outH, tt.outW)
			r.Zoom(tt.src, dst)
			got := channel0(dst)
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestNearestTable(t *testing.T) {
	tests := []struct {
		n, m int
		want []int
	}{
		{2, 4, []int{0, 0, 1, 1}},    // cc 0, 1/3, 2/3, 1
		{3, 5, []int{0, 1, 1, 2, 2}}, // cc 0, .5, 1, 1.5, 2: halves round up
		{4, 2, []int{0, 3}},          // cc 0, 3
		{5, 1, []int{0}},             // one output: zoom 1
	}
	for _, tt := range tests {
		got := nearestTable(nil, tt.n, tt.m)
		for i := range tt.want {
			if got[i] != tt.want[i] {
				t.Fatalf("n=%d m=%d: got %v, want %v", tt.n, tt.m, got, tt.want)
			}
		}
	}
	// 25 × (7/25) rounds above 7 in float64, so scipy's constant mode
	// reads 0 for the last row.
	if got := nearestTable(nil, 8, 26); got[25] != -1 || got[24] != 7 {
		t.Fatalf("8→26: last entries %v", got[23:])
	}
}

func TestMiniMask(t *testing.T) {
	tests := []struct {
		name         string
		crop         []bool
		h, w, mh, mw int
		want         []bool
	}{
		// values .75, .75, .25, 0 (taps outside read 0)
		{"upscale", []bool{true, false}, 1, 2, 1, 4, []bool{true, true, false, false}},
		// one tap pair at 0.5 each: 0.5 rounds half to even, to 0
		{"half rounds down", []bool{true, false}, 1, 2, 1, 1, []bool{false}},
		// an all-ones crop clips every value to 1
		{"all ones", []bool{true}, 1, 1, 2, 2, []bool{true, true, true, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Resizer
			dst := make([]bool, tt.mh*tt.mw)
			r.MiniMask(tt.crop, tt.h, tt.w, tt.mh, tt.mw, dst)
			for i := range dst {
				if dst[i] != tt.want[i] {
					t.Fatalf("got %v, want %v", dst, tt.want)
				}
			}
		})
	}
}

func TestPlaceMask(t *testing.T) {
	g := Geometry{OrigH: 2, OrigW: 2, Scale: 2, ScaledH: 4, ScaledW: 4, Pad: [4]int{1, 1, 0, 2}, OutH: 6, OutW: 6}
	src := []bool{true, false, false, false}
	var r Resizer
	p, ok := r.PlaceMask(src, ExtractBBox(src, 2, 2), g, false, nil)
	// rows/cols 0,0,1,1 ← 0,1,2,3: the pixel becomes rows 0-1, cols 0-1, +1 row of padding.
	if !ok || p.Box != [4]int{1, 0, 3, 2} || p.H != 2 || p.W != 2 {
		t.Fatalf("got %+v", p)
	}
	p, ok = r.PlaceMask(src, ExtractBBox(src, 2, 2), g, true, nil)
	if !ok || p.Box != [4]int{1, 4, 3, 6} {
		t.Fatalf("flipped: got %+v", p)
	}
	// An L shape flips its pixels too.
	src = []bool{true, true, true, false}
	g = Geometry{OrigH: 2, OrigW: 2, Scale: 1, ScaledH: 2, ScaledW: 2, OutH: 2, OutW: 2}
	p, _ = r.PlaceMask(src, ExtractBBox(src, 2, 2), g, true, nil)
	if want := []bool{true, true, false, true}; p.Box != [4]int{0, 0, 2, 2} || p.Pix[0] != want[0] || p.Pix[2] != want[2] || p.Pix[3] != want[3] {
		t.Fatalf("flipped L: %+v", p)
	}
	if _, ok := r.PlaceMask(make([]bool, 4), [4]int{}, g, false, nil); ok {
		t.Fatal("empty mask placed")
	}
}

func TestExtractBBox(t *testing.T) {
	m := []bool{
		false, false, false,
		false, true, true,
		false, false, false,
	}
	if got := ExtractBBox(m, 3, 3); got != [4]int{1, 1, 2, 3} {
		t.Fatalf("got %v", got)
	}
	if got := ExtractBBox(make([]bool, 9), 3, 3); got != [4]int{} {
		t.Fatalf("empty: %v", got)
	}
}

func TestApplyAndFlip(t *testing.T) {
	src := gray(1, 2, 10, 20)
	g, _ := Plan(ResizeConfig{Mode: ModePad64}, 1, 2, nil)
	dst := NewRGB(g.OutH, g.OutW)
	var r Resizer
	if err := r.Apply(src, g, dst); err != nil {
		t.Fatal(err)
	}
	// 1×2 pads to 64×64 with top 31, left 31.
	if got := dst.Pix[(31*64+31)*3]; got != 10 || dst.Pix[(31*64+32)*3] != 20 || dst.Pix[0] != 0 {
		t.Fatalf("padding wrong: %d", got)
	}
	FlipLR(dst)
	if dst.Pix[(31*64+32)*3] != 10 || dst.Pix[(31*64+31)*3] != 20 {
		t.Fatal("flip wrong")
	}
}

func TestMoldAndMeta(t *testing.T) {
	img := gray(1, 1, 0)
	img.Pix[1] = 255
	dst := make([]float32, 3)
	Mold(dst, img, [3]float64{123.7, 116.8, 103.9})
	if dst[0] != float32(-123.7) || dst[1] != float32(255-116.8) || dst[2] != float32(-103.9) {
		t.Fatalf("mold %v", dst)
	}
	two := gray(1, 2, 10, 200)
	f := make([]float32, 6)
	MoldFlipped(f, two, [3]float64{0, 0, 0})
	if f[0] != 200 || f[3] != 10 {
		t.Fatalf("mold flipped %v", f)
	}
	g := Geometry{OrigH: 480, OrigW: 640, Scale: 1.6, OutH: 1024, OutW: 1024, Window: [4]int{128, 0, 896, 1024}}
	meta := make([]float32, MetaLength(3))
	ComposeMeta(meta, 7, g, []bool{true, true, false})
	want := []float32{7, 480, 640, 3, 1024, 1024, 3, 128, 0, 896, 1024, 1.6, 1, 1, 0}
	for i := range want {
		if meta[i] != want[i] {
			t.Fatalf("meta %v, want %v", meta, want)
		}
	}
}

func TestDecodePNGNoPremultiply(t *testing.T) {
	m := goimage.NewNRGBA(goimage.Rect(0, 0, 2, 1))
	m.SetNRGBA(0, 0, color.NRGBA{10, 20, 30, 0})
	m.SetNRGBA(1, 0, color.NRGBA{200, 100, 50, 128})
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	got, err := Decode(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	want := []uint8{10, 20, 30, 200, 100, 50}
	if !bytes.Equal(got.Pix, want) {
		t.Fatalf("got %v, want %v", got.Pix, want)
	}
	g := goimage.NewGray(goimage.Rect(0, 0, 1, 1))
	g.Pix[0] = 77
	buf.Reset()
	_ = png.Encode(&buf, g)
	got, _ = Decode(buf.Bytes())
	if !bytes.Equal(got.Pix, []uint8{77, 77, 77}) {
		t.Fatalf("gray: %v", got.Pix)
	}
	if _, err := Decode([]byte("GIF89a")); err == nil {
		t.Fatal("GIF accepted")
	}
}

func TestDecodeJPEG(t *testing.T) {
	m := goimage.NewRGBA(goimage.Rect(0, 0, 16, 8))
	for i := 0; i < len(m.Pix); i += 4 {
		m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = 200, 80, 40, 255
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	got, err := Decode(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if got.H != 8 || got.W != 16 {
		t.Fatalf("size %d×%d", got.H, got.W)
	}
	for i := 0; i < len(got.Pix); i += 3 {
		for c, want := range []int{200, 80, 40} {
			if d := int(got.Pix[i+c]) - want; d < -3 || d > 3 {
				t.Fatalf("pixel %d channel %d = %d, want about %d", i/3, c, got.Pix[i+c], want)
			}
		}
	}
	if _, err := Decode(buf.Bytes()[:20]); err == nil {
		t.Fatal("truncated JPEG header accepted")
	}
}

func TestCMYK(t *testing.T) {
	// Pillow: nk = 255-k; r = nk - (c*nk)/255 rounded: c=0,k=0 → 255; c=255,k=0 → 0; k=255 → 0.
	for _, tt := range []struct{ c, k, want uint8 }{{0, 0, 255}, {255, 0, 0}, {0, 255, 0}, {128, 0, 127}} {
		if r, _, _ := cmykToRGB(tt.c, 0, 0, tt.k); r != tt.want {
			t.Errorf("cmyk(%d,k=%d) → %d, want %d", tt.c, tt.k, r, tt.want)
		}
	}
}
