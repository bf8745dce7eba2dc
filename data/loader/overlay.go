package loader

import (
	goimage "image"
	"image/color"

	"github.com/graftrain/graftrain/data/anchors"
	"github.com/graftrain/graftrain/data/batch"
	"github.com/graftrain/graftrain/data/image"
)

var palette = []color.NRGBA{
	{230, 25, 75, 255}, {60, 180, 75, 255}, {255, 225, 25, 255}, {0, 130, 200, 255},
	{245, 130, 48, 255}, {145, 30, 180, 255}, {70, 240, 240, 255}, {240, 50, 230, 255},
}

// Overlay draws what the model sees for slot s of b: the resized image
// (rgb, before mean subtraction), each instance's mask tinted in its
// colour (mini masks stretched back over their box), its box, and the
// positive anchors of set in white. Crowd regions are drawn in grey.
func Overlay(rgb *image.RGB, b *batch.Batch, s int, set *anchors.Set) *goimage.NRGBA {
	d := b.Dims
	out := goimage.NewNRGBA(goimage.Rect(0, 0, rgb.W, rgb.H))
	for i := 0; i < rgb.H*rgb.W; i++ {
		out.Pix[4*i], out.Pix[4*i+1], out.Pix[4*i+2], out.Pix[4*i+3] = rgb.Pix[3*i], rgb.Pix[3*i+1], rgb.Pix[3*i+2], 255
	}
	G := d.MaxGTInstances
	mh, mw := d.MaskHeight, d.MaskWidth
	mini := mh != d.Height || mw != d.Width
	for k := 0; k < G; k++ {
		id := b.GTClassIDs[s*G+k]
		if id == 0 {
			continue
		}
		c := color.NRGBA{128, 128, 128, 255}
		if id > 0 {
			c = palette[k%len(palette)]
		}
		bx := b.GTBoxes[(s*G+k)*4:]
		y1, x1, y2, x2 := int(bx[0]), int(bx[1]), int(bx[2]), int(bx[3])
		masks := b.GTMasks[s*mh*mw*G:]
		for y := max(y1, 0); y < min(y2, rgb.H); y++ {
			for x := max(x1, 0); x < min(x2, rgb.W); x++ {
				var on bool
				if mini {
					my := (y - y1) * mh / max(y2-y1, 1)
					mx := (x - x1) * mw / max(x2-x1, 1)
					on = masks[(my*mw+mx)*G+k]
				} else {
					on = masks[(y*mw+x)*G+k]
				}
				if on {
					blend(out, x, y, c, 0.45)
				}
			}
		}
		rectangle(out, y1, x1, y2, x2, c)
	}
	A := d.Anchors
	for a, m := range b.RPNMatch[s*A : (s+1)*A] {
		if m == 1 {
			an := set.Boxes[a]
			rectangle(out, int(an[0]), int(an[1]), int(an[2]), int(an[3]), color.NRGBA{255, 255, 255, 255})
		}
	}
	return out
}

func blend(m *goimage.NRGBA, x, y int, c color.NRGBA, a float64) {
	o := m.PixOffset(x, y)
	m.Pix[o] = uint8(float64(m.Pix[o])*(1-a) + float64(c.R)*a)
	m.Pix[o+1] = uint8(float64(m.Pix[o+1])*(1-a) + float64(c.G)*a)
	m.Pix[o+2] = uint8(float64(m.Pix[o+2])*(1-a) + float64(c.B)*a)
}

func rectangle(m *goimage.NRGBA, y1, x1, y2, x2 int, c color.NRGBA) {
	r := m.Bounds()
	set := func(x, y int) {
		if (goimage.Point{x, y}).In(r) {
			m.SetNRGBA(x, y, c)
		}
	}
	for x := x1; x < x2; x++ {
		set(x, y1)
		set(x, y2-1)
	}
	for y := y1; y < y2; y++ {
		set(x1, y)
		set(x2-1, y)
	}
}
