package image

import "math"

// nearestTable reproduces scipy.ndimage.zoom(order=0, mode='constant')
// along one axis of n input and m output pixels, as resize_mask calls it:
// in = out * (n-1)/(m-1), rounded by floor(in + 0.5); an output whose
// coordinate lands past n-1 (by float rounding) reads the constant 0 (-1).
func nearestTable(t []int, n, m int) []int {
	t = growInt(t, m)
	zoom := 1.0
	if m-1 != 0 {
		zoom = float64(n-1) / float64(m-1)
	}
	for k := 0; k < m; k++ {
		cc := float64(k) * zoom
		if cc > float64(n-1) {
			t[k] = -1
			continue
		}
		t[k] = int(math.Floor(cc + 0.5))
	}
	return t
}

// Placed is one instance mask in output coordinates: its tight box
// (y1, x1, y2, x2, matterport's extract_bboxes) and the row-major pixels
// inside it.
type Placed struct {
	Box  [4]int
	Pix  []bool
	H, W int
}

// PlaceMask takes an instance's full-size row-major mask (g.OrigH×g.OrigW)
// through resize_mask (nearest zoom by g.Scale, then the same padding or
// crop as the image), optionally a left-right flip of the output, and
// returns its tight box and pixels, reusing buf. box is the mask's tight
// box in src (y1, x1, y2, x2, ExtractBBox's form); only src pixels inside
// it are read. ok is false when nothing of the mask survives (tiny objects
// vanish; matterport drops them).
func (r *Resizer) PlaceMask(src []bool, box [4]int, g Geometry, flip bool, buf []bool) (p Placed, ok bool) {
	w := g.OrigW
	sy1, sx1, sy2, sx2 := box[0], box[1], box[2]-1, box[3]-1
	if sy2 < sy1 || sx2 < sx1 {
		return Placed{}, false
	}
	h := g.OrigH
	r.maskRows = nearestTable(r.maskRows, h, g.ScaledH)
	r.maskCols = nearestTable(r.maskCols, w, g.ScaledW)
	// Output (scaled) ranges whose source lies in the source box.
	oy0, oy1 := span(r.maskRows, sy1, sy2)
	ox0, ox1 := span(r.maskCols, sx1, sx2)
	// Into the output canvas.
	dy, dx := g.Pad[0], g.Pad[2]
	if g.Cropped {
		dy, dx = -g.Crop[0], -g.Crop[1]
	}
	oy0, oy1 = max(oy0, -dy), min(oy1, g.OutH-dy)
	ox0, ox1 = max(ox0, -dx), min(ox1, g.OutW-dx)
	if oy0 >= oy1 || ox0 >= ox1 {
		return Placed{}, false
	}
	// One pass: resample the whole span into buf and find the tight box;
	// then move the box's rows to the front of buf (each row moves to a
	// lower or equal offset, so copy's forward order is safe).
	sw := ox1 - ox0
	n := (oy1 - oy0) * sw
	if cap(buf) < n {
		buf = make([]bool, n)
	}
	span := buf[:n]
	by1, by2, bx1, bx2 := oy1, -1, ox1, -1
	cols := r.maskCols[ox0:ox1]
	for y := oy0; y < oy1; y++ {
		out := span[(y-oy0)*sw : (y-oy0+1)*sw]
		sr := r.maskRows[y]
		if sr < 0 {
			clear(out)
			continue
		}
		row := src[sr*w : (sr+1)*w]
		first, last := -1, -1
		for i, sc := range cols {
			v := sc >= 0 && row[sc]
			out[i] = v
			if v {
				if first < 0 {
					first = i
				}
				last = i
			}
		}
		if first >= 0 {
			by1 = min(by1, y)
			by2 = y
			bx1 = min(bx1, ox0+first)
			bx2 = max(bx2, ox0+last)
		}
	}
	if by2 < 0 {
		return Placed{}, false
	}
	ph, pw := by2-by1+1, bx2-bx1+1
	pix := span[:ph*pw]
	for y := 0; y < ph; y++ {
		from := (by1-oy0+y)*sw + (bx1 - ox0)
		row := pix[y*pw : (y+1)*pw]
		copy(row, span[from:from+pw])
		if flip {
			for a, b := 0, pw-1; a < b; a, b = a+1, b-1 {
				row[a], row[b] = row[b], row[a]
			}
		}
	}
	out := [4]int{by1 + dy, bx1 + dx, by2 + 1 + dy, bx2 + 1 + dx}
	if flip {
		out[1], out[3] = g.OutW-out[3], g.OutW-out[1]
	}
	return Placed{Box: out, Pix: pix, H: ph, W: pw}, true
}

// span returns the output index range [lo, hi) whose table entry lies in
// [a, b]. Table entries are non-decreasing apart from trailing -1s.
func span(t []int, a, b int) (int, int) {
	lo, hi := len(t), 0
	for k, v := range t {
		if v >= a && v <= b {
			lo = min(lo, k)
			hi = k + 1
		}
	}
	if hi == 0 {
		return 0, 0
	}
	return lo, hi
}

// ExtractBBox is matterport's extract_bboxes for one row-major h×w mask:
// y1, x1, y2, x2 with y2 and x2 one past the last pixel, all zero for an
// empty mask.
func ExtractBBox(m []bool, h, w int) [4]int {
	y1, y2, x1, x2 := h, -1, w, -1
	for y := 0; y < h; y++ {
		for x, v := range m[y*w : (y+1)*w] {
			if v {
				y1 = min(y1, y)
				y2 = y
				x1 = min(x1, x)
				x2 = max(x2, x)
			}
		}
	}
	if y2 < 0 {
		return [4]int{}
	}
	return [4]int{y1, x1, y2 + 1, x2 + 1}
}

// MiniMask is minimize_mask for one instance: the box crop (row-major
// h×w) resized to mh×mw with skimage's bilinear resize (the bool mask read
// as 0/1 floats, taps outside read 0, clipped to the crop's min and max)
// and rounded half to even (np.around), so a pixel is set when its value
// exceeds 0.5. dst receives mh×mw row-major pixels.
func (r *Resizer) MiniMask(crop []bool, h, w, mh, mw int, dst []bool) {
	r.ya.set(h, mh)
	r.xa.set(w, mw)
	lo, hi := 1.0, 0.0
	for _, v := range crop {
		if v {
			hi = 1
		} else {
			lo = 0
		}
	}
	f := func(y, x int) float64 {
		if crop[y*w+x] {
			return 1
		}
		return 0
	}
	for y := 0; y < mh; y++ {
		y0, y1 := r.ya.i0[y], r.ya.i1[y]
		wy0, wy1 := r.ya.w0[y], r.ya.w1[y]
		for x := 0; x < mw; x++ {
			x0, x1 := r.xa.i0[x], r.xa.i1[x]
			wx0, wx1 := r.xa.w0[x], r.xa.w1[x]
			t := 0.0
			if y0 >= 0 {
				if x0 >= 0 {
					t += float64(f(y0, x0) * wy0 * wx0)
				}
				if x1 >= 0 {
					t += float64(f(y0, x1) * wy0 * wx1)
				}
			}
			if y1 >= 0 {
				if x0 >= 0 {
					t += float64(f(y1, x0) * wy1 * wx0)
				}
				if x1 >= 0 {
					t += float64(f(y1, x1) * wy1 * wx1)
				}
			}
			t = math.Min(math.Max(t, lo), hi)
			dst[y*mw+x] = math.RoundToEven(t) >= 1
		}
	}
}
