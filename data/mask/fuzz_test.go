package mask

import (
	"errors"
	"slices"
	"testing"
)

// FuzzFromString feeds arbitrary strings and sizes to the compressed RLE
// parser: it must return an error or a valid mask, never panic, and what it
// accepts must survive a print and parse.
func FuzzFromString(f *testing.F) {
	for _, d := range segmFixture(f) {
		s := d.Segmentation
		f.Add(s.Counts, uint16(s.Size[0]), uint16(s.Size[1]))
	}
	f.Add("231N", uint16(7), uint16(1))
	f.Add("ooooooo", uint16(3), uint16(3))
	f.Fuzz(func(t *testing.T, s string, h, w uint16) {
		r, err := FromString(s, int(h), int(w))
		if err != nil {
			if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrSize) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if _, err := Decode(r); err != nil {
			t.Fatalf("accepted %q but Decode fails: %v", s, err)
		}
		back, err := FromString(r.String(), int(h), int(w))
		if err != nil || !slices.Equal(back.Counts, r.Counts) {
			t.Fatalf("print/parse of %q: %v %v", s, back.Counts, err)
		}
		_ = r.ToBBox()
		_ = IoU([]RLE{r}, []RLE{r}, []bool{true})
	})
}

// FuzzFromPolygon rasterises arbitrary polygons: an error or a mask whose
// runs cover the image and equal the literal transcription's, never a
// panic.
func FuzzFromPolygon(f *testing.F) {
	f.Add(0.0, 0.0, 10.0, 0.0, 0.0, 10.0, -3.5, 7.25, uint8(12), uint8(9))
	f.Add(0.5, 0.5, 2.5, 0.5, 2.5, 2.5, 0.5, 2.5, uint8(5), uint8(5))
	f.Fuzz(func(t *testing.T, x0, y0, x1, y1, x2, y2, x3, y3 float64, h, w uint8) {
		r, err := FromPolygon([]float64{x0, y0, x1, y1, x2, y2, x3, y3}, int(h), int(w))
		if err != nil {
			return
		}
		if _, err := Decode(r); err != nil {
			t.Fatalf("polygon gives invalid RLE %v: %v", r.Counts, err)
		}
		if h > 0 && w > 0 {
			if want := refPoly([]float64{x0, y0, x1, y1, x2, y2, x3, y3}, int(h), int(w)); !slices.Equal(r.Counts, want) {
				t.Fatalf("counts %v, reference %v", r.Counts, want)
			}
		}
	})
}
