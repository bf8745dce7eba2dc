package loader

import (
	"testing"

	"github.com/graftrain/graftrain/data/image"
	"github.com/graftrain/graftrain/data/mask"
)

// FuzzPaint checks that painting any run-length mask either fails cleanly
// or reproduces the mask's decoded pixels inside its box.
func FuzzPaint(f *testing.F) {
	f.Add(uint8(5), uint8(4), []byte{6, 2, 3, 2, 7})
	f.Add(uint8(1), uint8(1), []byte{0, 1})
	f.Add(uint8(3), uint8(3), []byte{9})
	f.Fuzz(func(t *testing.T, hb, wb uint8, runs []byte) {
		h, w := int(hb%16), int(wb%16)
		counts := make([]uint32, len(runs))
		for i, c := range runs {
			counts[i] = uint32(c)
		}
		r := mask.RLE{H: h, W: w, Counts: counts}
		full := make([]bool, h*w)
		box, err := paint(r, full)
		if err != nil {
			return
		}
		want, err := mask.Decode(r)
		if err != nil {
			t.Fatalf("paint accepted what Decode rejects: %v", err)
		}
		if eb := image.ExtractBBox(want, h, w); eb != box {
			t.Fatalf("box %v, want %v", box, eb)
		}
		for y := box[0]; y < box[2]; y++ {
			for x := box[1]; x < box[3]; x++ {
				if full[y*w+x] != want[y*w+x] {
					t.Fatalf("pixel (%d,%d) differs", y, x)
				}
			}
		}
	})
}
