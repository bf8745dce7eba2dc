package image

import (
	"bytes"
	goimage "image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"testing"
)

// testJPEG encodes a 640×480 4:2:0 JPEG with gradients and noise, about
// the size and kind of a COCO image.
func testJPEG(tb testing.TB) []byte {
	tb.Helper()
	m := goimage.NewRGBA(goimage.Rect(0, 0, 640, 480))
	rng := rand.New(rand.NewPCG(1, 2))
	for y := 0; y < 480; y++ {
		for x := 0; x < 640; x++ {
			n := uint8(rng.IntN(32))
			m.SetRGBA(x, y, color.RGBA{uint8(x/3) + n, uint8(y/2) + n, uint8((x+y)/5) + n, 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: 90}); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func BenchmarkDecodeJPEG640x480(b *testing.B) {
	data := testJPEG(b)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Decode(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeResizePad1024 is decode + resize_image (square, 1024) of a
// 640×480 JPEG: 640 → 1024 by 1.6, padded to 1024².
func BenchmarkDecodeResizePad1024(b *testing.B) {
	data := testJPEG(b)
	cfg := ResizeConfig{MinDim: 800, MaxDim: 1024, Mode: ModeSquare}
	var r Resizer
	dst := NewRGB(1024, 1024)
	for b.Loop() {
		img, err := Decode(data)
		if err != nil {
			b.Fatal(err)
		}
		g, err := Plan(cfg, img.H, img.W, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := r.Apply(img, g, dst); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMold1024(b *testing.B) {
	img := NewRGB(1024, 1024)
	dst := make([]float32, 1024*1024*3)
	for b.Loop() {
		Mold(dst, img, [3]float64{123.7, 116.8, 103.9})
	}
}

// BenchmarkZoom640x480to1024x768 is the bilinear resize alone.
func BenchmarkZoom640x480to1024x768(b *testing.B) {
	src, err := Decode(testJPEG(b))
	if err != nil {
		b.Fatal(err)
	}
	dst := NewRGB(768, 1024)
	var r Resizer
	for b.Loop() {
		r.Zoom(src, dst)
	}
}
