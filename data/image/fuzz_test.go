package image

import (
	"bytes"
	goimage "image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to the JPEG and PNG decoders: they must
// return an image of consistent size or an error, never crash. The corpus
// starts from small real files and the sample dataset's first images.
func FuzzDecode(f *testing.F) {
	m := goimage.NewNRGBA(goimage.Rect(0, 0, 3, 2))
	m.SetNRGBA(1, 1, color.NRGBA{1, 2, 3, 4})
	var buf bytes.Buffer
	_ = png.Encode(&buf, m)
	f.Add(buf.Bytes())
	buf.Reset()
	_ = jpeg.Encode(&buf, m, nil)
	f.Add(buf.Bytes())
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.jpg"))
	pngs, _ := filepath.Glob(filepath.Join("testdata", "*.png"))
	for _, p := range append(seeds, pngs...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := Decode(data)
		if err != nil {
			return
		}
		if img.H < 1 || img.W < 1 || len(img.Pix) != img.H*img.W*3 {
			t.Fatalf("decoded %d×%d with %d bytes", img.H, img.W, len(img.Pix))
		}
	})
}
