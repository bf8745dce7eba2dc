package mask

import (
	"errors"
	"fmt"
)

// RLE is a binary mask of H rows and W columns as column-major run lengths
// alternating 0s and 1s, starting with 0s. The counts of a valid RLE sum to
// H*W.
type RLE struct {
	H, W   int
	Counts []uint32
}

// BBox is a COCO box: x, y of the top-left corner, width, height, in pixels.
type BBox [4]float64

// ErrSize reports masks whose sizes disagree or do not fit their data.
var ErrSize = errors.New("mask size mismatch")

// FromCounts makes an RLE from uncompressed counts (the `counts` list of a
// COCO segmentation with iscrowd=1), checking that they cover h*w pixels.
func FromCounts(counts []uint32, h, w int) (RLE, error) {
	if err := checkDims(h, w); err != nil {
		return RLE{}, err
	}
	var sum uint64
	for _, c := range counts {
		sum += uint64(c)
	}
	if sum != uint64(h)*uint64(w) {
		return RLE{}, fmt.Errorf("%w: run lengths sum to %d, want %d×%d = %d", ErrSize, sum, h, w, h*w)
	}
	return RLE{H: h, W: w, Counts: append([]uint32(nil), counts...)}, nil
}

func checkDims(h, w int) error {
	if h < 0 || w < 0 {
		return fmt.Errorf("%w: negative size %d×%d", ErrSize, h, w)
	}
	if uint64(h)*uint64(w) > 1<<32-1 {
		return fmt.Errorf("%w: %d×%d pixels exceed the 32-bit run lengths of the COCO mask format", ErrSize, h, w)
	}
	return nil
}

// Encode run-length encodes a row-major h×w mask.
func Encode(m []bool, h, w int) (RLE, error) {
	if err := checkDims(h, w); err != nil {
		return RLE{}, err
	}
	if len(m) != h*w {
		return RLE{}, fmt.Errorf("%w: %d pixels for a %d×%d mask", ErrSize, len(m), h, w)
	}
	counts := make([]uint32, 0, 8)
	var run uint32
	prev := false
	for x := 0; x < w; x++ {
		for i := x; i < h*w; i += w {
			if m[i] != prev {
				counts = append(counts, run)
				run = 0
				prev = m[i]
			}
			run++
		}
	}
	counts = append(counts, run)
	return RLE{H: h, W: w, Counts: counts}, nil
}

// Decode returns the row-major h×w mask of r.
func Decode(r RLE) ([]bool, error) {
	if err := checkDims(r.H, r.W); err != nil {
		return nil, err
	}
	m := make([]bool, r.H*r.W)
	return m, r.DecodeInto(m)
}

// DecodeInto writes r's row-major mask into dst, which must hold H*W pixels.
// Every pixel of dst is written.
func (r RLE) DecodeInto(dst []bool) error {
	n := r.H * r.W
	if len(dst) != n {
		return fmt.Errorf("%w: destination holds %d pixels, mask has %d×%d", ErrSize, len(dst), r.H, r.W)
	}
	if err := r.check(); err != nil {
		return err
	}
	// Clear, then set the 1-runs column segment by column segment: the
	// writes are strided in a row-major mask, so touch only the 1 pixels.
	clear(dst)
	var p int
	for j, c := range r.Counts {
		if j%2 == 1 && c > 0 {
			x, y := p/r.H, p%r.H
			for left := int(c); left > 0; x, y = x+1, 0 {
				n := min(left, r.H-y)
				for i := y*r.W + x; n > 0; i, n, left = i+r.W, n-1, left-1 {
					dst[i] = true
				}
			}
		}
		p += int(c)
	}
	return nil
}

// check verifies that the counts cover exactly H*W pixels.
func (r RLE) check() error {
	if err := checkDims(r.H, r.W); err != nil {
		return err
	}
	var sum uint64
	for _, c := range r.Counts {
		sum += uint64(c)
	}
	if sum != uint64(r.H)*uint64(r.W) {
		return fmt.Errorf("%w: run lengths sum to %d, want %d×%d = %d", ErrSize, sum, r.H, r.W, r.H*r.W)
	}
	return nil
}

// Area is the number of 1 pixels.
func (r RLE) Area() int {
	a := 0
	for j := 1; j < len(r.Counts); j += 2 {
		a += int(r.Counts[j])
	}
	return a
}

// ToBBox returns the tight box around r's 1 pixels as maskApi's rleToBbox
// computes it (all zeros for an RLE with fewer than two runs).
func (r RLE) ToBBox() BBox {
	h, w := uint32(r.H), uint32(r.W)
	m := len(r.Counts) / 2 * 2
	if m == 0 || h == 0 {
		return BBox{}
	}
	xs, ys := w, h
	var xe, ye, cc, xp uint32
	for j := 0; j < m; j++ {
		cc += r.Counts[j]
		// Unsigned arithmetic as in C: the last pixel of a 1-run is cc-1.
		t := cc - uint32(j%2)
		y := t % h
		x := (t - y) / h
		if j%2 == 0 {
			xp = x
		} else if xp < x {
			// The run wraps into a later column: it spans every row.
			ys, ye = 0, h-1
		}
		xs, xe = min(xs, x), max(xe, x)
		ys, ye = min(ys, y), max(ye, y)
	}
	return BBox{float64(xs), float64(ys), float64(xe) - float64(xs) + 1, float64(ye) - float64(ys) + 1}
}

// Merge returns the union (intersect false) or intersection (intersect
// true) of rs, which must all have the same size. Merging one RLE returns a
// copy of it.
func Merge(rs []RLE, intersect bool) (RLE, error) {
	if len(rs) == 0 {
		return RLE{}, nil
	}
	h, w := rs[0].H, rs[0].W
	for i, r := range rs {
		if r.H != h || r.W != w {
			return RLE{}, fmt.Errorf("%w: mask %d is %d×%d, mask 0 is %d×%d", ErrSize, i, r.H, r.W, h, w)
		}
		if len(r.Counts) == 0 {
			return RLE{}, fmt.Errorf("%w: mask %d has no runs", ErrSize, i)
		}
	}
	cur := append([]uint32(nil), rs[0].Counts...)
	var next []uint32
	for _, b := range rs[1:] {
		next = merge2(next[:0], cur, b.Counts, intersect)
		cur, next = next, cur
	}
	return RLE{H: h, W: w, Counts: cur}, nil
}

// merge2 appends the runs of the union or intersection of a and b to dst,
// following maskApi's rleMerge step for step (including its zero-length
// first run when both masks start with a 1).
func merge2(dst, a, b []uint32, intersect bool) []uint32 {
	ca, cb := a[0], b[0]
	va, vb, v := false, false, false
	ia, ib := 1, 1
	var cc uint32
	for more := true; more; {
		c := min(ca, cb)
		cc += c
		var ct uint32
		ca -= c
		if ca == 0 && ia < len(a) {
			ca = a[ia]
			ia++
			va = !va
		}
		ct += ca
		cb -= c
		if cb == 0 && ib < len(b) {
			cb = b[ib]
			ib++
			vb = !vb
		}
		ct += cb
		vp := v
		if intersect {
			v = va && vb
		} else {
			v = va || vb
		}
		more = ct > 0
		if v != vp || !more {
			dst = append(dst, cc)
			cc = 0
		}
	}
	return dst
}
