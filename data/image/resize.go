package image

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Resize modes of matterport's IMAGE_RESIZE_MODE.
const (
	ModeSquare = "square"
	ModePad64  = "pad64"
	ModeCrop   = "crop"
	ModeNone   = "none"
)

// ResizeConfig is matterport's IMAGE_MIN_DIM, IMAGE_MAX_DIM,
// IMAGE_MIN_SCALE and IMAGE_RESIZE_MODE.
type ResizeConfig struct {
	MinDim, MaxDim int
	MinScale       float64
	Mode           string
}

// Validate checks the settings resize_image asserts on.
func (c ResizeConfig) Validate() error {
	switch c.Mode {
	case ModeSquare:
		if c.MaxDim < 1 {
			return fmt.Errorf("image: model.image_max_dim is %d, square mode needs it >= 1", c.MaxDim)
		}
	case ModePad64:
		if c.MinDim%64 != 0 {
			return fmt.Errorf("image: model.image_min_dim is %d, pad64 mode needs a multiple of 64", c.MinDim)
		}
	case ModeCrop:
		if c.MinDim < 1 {
			return fmt.Errorf("image: model.image_min_dim is %d, crop mode needs it >= 1", c.MinDim)
		}
	case ModeNone:
	default:
		return fmt.Errorf("image: model.image_resize_mode %q unknown (want square, pad64, crop or none)", c.Mode)
	}
	return nil
}

// OutputShape is the molded image size every image of a run gets
// (matterport's IMAGE_SHAPE): MinDim² in crop mode, MaxDim² otherwise.
// pad64 and none give per-image sizes that must still match it.
func (c ResizeConfig) OutputShape() (h, w int) {
	if c.Mode == ModeCrop {
		return c.MinDim, c.MinDim
	}
	return c.MaxDim, c.MaxDim
}

// Geometry is resize_image's result for one image: the scale, the resized
// size, the padding or crop, the window of real pixels and the output size.
type Geometry struct {
	OrigH, OrigW     int
	Scale            float64
	ScaledH, ScaledW int
	// Pad is (top, bottom, left, right) padding; zero in crop mode.
	Pad [4]int
	// Crop is (y, x, h, w) of the crop taken from the resized image, when
	// Cropped.
	Crop    [4]int
	Cropped bool
	// Window is y1, x1, y2, x2 of the image inside the output.
	Window     [4]int
	OutH, OutW int
}

// roundHalfEven is Python 3's round() for floats.
func roundHalfEven(v float64) int { return int(math.RoundToEven(v)) }

// Plan computes resize_image's geometry for an h×w image. The crop mode
// draws its offset from rng (random.randint(0, extra) on both axes, y
// first).
func Plan(c ResizeConfig, h, w int, rng *rand.Rand) (Geometry, error) {
	if err := c.Validate(); err != nil {
		return Geometry{}, err
	}
	if h < 1 || w < 1 {
		return Geometry{}, fmt.Errorf("image: empty image %d×%d", h, w)
	}
	g := Geometry{OrigH: h, OrigW: w, Scale: 1, ScaledH: h, ScaledW: w, Window: [4]int{0, 0, h, w}, OutH: h, OutW: w}
	if c.Mode == ModeNone {
		return g, nil
	}
	scale := 1.0
	if c.MinDim > 0 {
		scale = math.Max(1, float64(c.MinDim)/float64(min(h, w)))
	}
	if c.MinScale != 0 && scale < c.MinScale {
		scale = c.MinScale
	}
	if c.MaxDim > 0 && c.Mode == ModeSquare {
		imax := max(h, w)
		if roundHalfEven(float64(imax)*scale) > c.MaxDim {
			scale = float64(c.MaxDim) / float64(imax)
		}
	}
	g.Scale = scale
	if scale != 1 {
		g.ScaledH, g.ScaledW = roundHalfEven(float64(h)*scale), roundHalfEven(float64(w)*scale)
	}
	sh, sw := g.ScaledH, g.ScaledW
	switch c.Mode {
	case ModeSquare:
		if sh > c.MaxDim || sw > c.MaxDim {
			return Geometry{}, fmt.Errorf("image: %d×%d resizes to %d×%d, larger than model.image_max_dim %d", h, w, sh, sw, c.MaxDim)
		}
		top := (c.MaxDim - sh) / 2
		left := (c.MaxDim - sw) / 2
		g.Pad = [4]int{top, c.MaxDim - sh - top, left, c.MaxDim - sw - left}
	case ModePad64:
		var top, bottom, left, right int
		if sh%64 > 0 {
			mh := sh - sh%64 + 64
			top = (mh - sh) / 2
			bottom = mh - sh - top
		}
		if sw%64 > 0 {
			mw := sw - sw%64 + 64
			left = (mw - sw) / 2
			right = mw - sw - left
		}
		g.Pad = [4]int{top, bottom, left, right}
	case ModeCrop:
		if sh < c.MinDim || sw < c.MinDim {
			return Geometry{}, fmt.Errorf("image: %d×%d resizes to %d×%d, smaller than the %d crop", h, w, sh, sw, c.MinDim)
		}
		y := rng.IntN(sh - c.MinDim + 1)
		x := rng.IntN(sw - c.MinDim + 1)
		g.Crop = [4]int{y, x, c.MinDim, c.MinDim}
		g.Cropped = true
		g.Window = [4]int{0, 0, c.MinDim, c.MinDim}
		g.OutH, g.OutW = c.MinDim, c.MinDim
		return g, nil
	}
	g.Window = [4]int{g.Pad[0], g.Pad[2], sh + g.Pad[0], sw + g.Pad[2]}
	g.OutH, g.OutW = sh+g.Pad[0]+g.Pad[1], sw+g.Pad[2]+g.Pad[3]
	return g, nil
}

// axis is one axis of a bilinear zoom: per output index, the two input
// taps (-1 when outside the input, read as 0) and their weights.
type axis struct {
	i0, i1 []int
	w0, w1 []float64
}

// zoomAxis reproduces scipy.ndimage.zoom(order=1, grid_mode=True) along one
// axis: in = (out + 0.5) * (n/m) - 0.5, weights 1-t and 1-(1-t).
func (a *axis) set(n, m int) {
	a.i0, a.i1 = growInt(a.i0, m), growInt(a.i1, m)
	a.w0, a.w1 = growF(a.w0, m), growF(a.w1, m)
	zoom := float64(n) / float64(m)
	for k := 0; k < m; k++ {
		cc := float64(k)
		cc += 0.5
		cc *= zoom
		cc -= 0.5
		fl := math.Floor(cc)
		s := int(fl)
		t := cc - fl
		w0 := 1.0 - t
		a.w0[k] = w0
		a.w1[k] = 1.0 - w0
		a.i0[k], a.i1[k] = s, s+1
		if s < 0 || s >= n {
			a.i0[k] = -1
		}
		if s+1 < 0 || s+1 >= n {
			a.i1[k] = -1
		}
	}
}

// Resizer resizes images and masks; it keeps its tables between calls and
// is not safe for concurrent use.
type Resizer struct {
	ya, xa   axis
	rowA     []float64
	rowB     []float64
	xo0, xo1 []int
	scaled   *RGB
	maskRows []int
	maskCols []int
}

// Zoom resizes src to h×w as skimage.transform.resize(order=1,
// mode='constant', cval=0, clip=True, preserve_range=True,
// anti_aliasing=False) does since scikit-image 0.19 (scipy's grid-mode zoom,
// taps outside the image read 0), then clips to src's own min and max and
// truncates to uint8 as matterport's astype(uint8) does. dst must be h×w.
//
// scipy sums the four taps of an output in the order (y0,x0), (y0,x1),
// (y1,x0), (y1,x1), each term (f*wy)*wx, starting from 0. The products f*wy
// depend only on the output row, so they are computed once per row into two
// float64 rows; a tap outside the image points at a zero slot at the end of
// the row, adding an exact 0. The explicit float64 conversions keep the
// compiler from fusing multiply-adds, which would change the rounding.
func (r *Resizer) Zoom(src, dst *RGB) {
	r.zoomInto(src, dst.Pix, dst.W, 0, 0, dst.H, dst.W)
}

// zoomInto writes the h×w zoom of src into the rectangle at (top, left) of
// the row-major RGB buffer pix whose rows hold stride pixels.
func (r *Resizer) zoomInto(src *RGB, pix []uint8, stride, top, left, h, w int) {
	dst := struct{ H, W int }{h, w}
	r.ya.set(src.H, dst.H)
	r.xa.set(src.W, dst.W)
	lo, hi := pixelRange(src.Pix)
	flo, fhi := float64(lo), float64(hi)
	sw3 := src.W * 3
	r.rowA = growF(r.rowA, sw3+3)
	r.rowB = growF(r.rowB, sw3+3)
	r.xo0, r.xo1 = growInt(r.xo0, dst.W), growInt(r.xo1, dst.W)
	for x := 0; x < dst.W; x++ {
		r.xo0[x], r.xo1[x] = sw3, sw3
		if i := r.xa.i0[x]; i >= 0 {
			r.xo0[x] = 3 * i
		}
		if i := r.xa.i1[x]; i >= 0 {
			r.xo1[x] = 3 * i
		}
	}
	rowA, rowB := r.rowA[:sw3+3], r.rowB[:sw3+3]
	rowA[sw3], rowA[sw3+1], rowA[sw3+2] = 0, 0, 0
	rowB[sw3], rowB[sw3+1], rowB[sw3+2] = 0, 0, 0
	xo0, xo1 := r.xo0[:dst.W], r.xo1[:dst.W]
	wx0s, wx1s := r.xa.w0[:dst.W], r.xa.w1[:dst.W]
	fill := func(row []float64, y int, w float64) {
		if y < 0 {
			clear(row[:sw3])
			return
		}
		s := src.Pix[y*sw3 : (y+1)*sw3]
		row = row[:len(s)]
		for i, v := range s {
			row[i] = float64(float64(v) * w)
		}
	}
	for y := 0; y < dst.H; y++ {
		fill(rowA, r.ya.i0[y], r.ya.w0[y])
		fill(rowB, r.ya.i1[y], r.ya.w1[y])
		o := ((top+y)*stride + left) * 3
		out := pix[o : o+dst.W*3]
		for x := range xo0 {
			o0, o1 := xo0[x], xo1[x]
			wx0, wx1 := wx0s[x], wx1s[x]
			// One bounds check per row buffer and pixel instead of six:
			// o0 and o1 are at most sw3, and both rows hold sw3+3 values.
			a0, a1 := rowA[o0:o0+3:o0+3], rowA[o1:o1+3:o1+3]
			b0, b1 := rowB[o0:o0+3:o0+3], rowB[o1:o1+3:o1+3]
			d := out[3*x : 3*x+3 : 3*x+3]
			// The products round one by one (explicit conversions forbid
			// fused multiply-adds) in the order the reference sums them.
			t0 := float64(a0[0] * wx0)
			t1 := float64(a0[1] * wx0)
			t2 := float64(a0[2] * wx0)
			t0 += float64(a1[0] * wx1)
			t1 += float64(a1[1] * wx1)
			t2 += float64(a1[2] * wx1)
			t0 += float64(b0[0] * wx0)
			t1 += float64(b0[1] * wx0)
			t2 += float64(b0[2] * wx0)
			t0 += float64(b1[0] * wx1)
			t1 += float64(b1[1] * wx1)
			t2 += float64(b1[2] * wx1)
			d[0] = clampU8(t0, flo, fhi)
			d[1] = clampU8(t1, flo, fhi)
			d[2] = clampU8(t2, flo, fhi)
		}
	}
}

// pixelRange returns the smallest and largest value in pix. Photographs
// usually reach both 0 and 255 early, so the scan stops once they are seen.
func pixelRange(pix []uint8) (lo, hi uint8) {
	lo, hi = 255, 0
	const chunk = 4096
	for len(pix) > 0 {
		n := min(chunk, len(pix))
		for _, v := range pix[:n] {
			lo = min(lo, v)
			hi = max(hi, v)
		}
		if lo == 0 && hi == 255 {
			break
		}
		pix = pix[n:]
	}
	return lo, hi
}

// clampU8 clips t to [lo, hi] (preserve_range's clip to the input's range)
// and truncates it as astype(uint8) does. t is never NaN, so plain
// comparisons do what the NaN-aware builtin min and max do, faster.
func clampU8(t, lo, hi float64) uint8 {
	if t < lo {
		t = lo
	}
	if t > hi {
		t = hi
	}
	return uint8(t)
}

// Apply runs resize_image on src with geometry g (from Plan) and writes the
// OutH×OutW result into dst, padding with zeros.
func (r *Resizer) Apply(src *RGB, g Geometry, dst *RGB) error {
	if src.H != g.OrigH || src.W != g.OrigW {
		return fmt.Errorf("image: geometry for %d×%d applied to %d×%d", g.OrigH, g.OrigW, src.H, src.W)
	}
	if dst.H != g.OutH || dst.W != g.OutW {
		return fmt.Errorf("image: destination %d×%d, want %d×%d", dst.H, dst.W, g.OutH, g.OutW)
	}
	if !g.Cropped && g.Scale != 1 {
		// Zoom straight into the padded output; clear only the padding.
		top, left := g.Pad[0], g.Pad[2]
		w3 := dst.W * 3
		clear(dst.Pix[:top*w3])
		clear(dst.Pix[(top+g.ScaledH)*w3:])
		for row := top; row < top+g.ScaledH; row++ {
			clear(dst.Pix[row*w3 : row*w3+left*3])
			clear(dst.Pix[row*w3+(left+g.ScaledW)*3 : (row+1)*w3])
		}
		r.zoomInto(src, dst.Pix, dst.W, top, left, g.ScaledH, g.ScaledW)
		return nil
	}
	scaled := src
	if g.Scale != 1 {
		if r.scaled == nil || cap(r.scaled.Pix) < g.ScaledH*g.ScaledW*3 {
			r.scaled = NewRGB(g.ScaledH, g.ScaledW)
		}
		r.scaled.H, r.scaled.W, r.scaled.Pix = g.ScaledH, g.ScaledW, r.scaled.Pix[:g.ScaledH*g.ScaledW*3]
		r.Zoom(src, r.scaled)
		scaled = r.scaled
	}
	if g.Cropped {
		y, x, h, w := g.Crop[0], g.Crop[1], g.Crop[2], g.Crop[3]
		for row := 0; row < h; row++ {
			copy(dst.Pix[row*w*3:(row+1)*w*3], scaled.Pix[((y+row)*scaled.W+x)*3:((y+row)*scaled.W+x+w)*3])
		}
		return nil
	}
	clear(dst.Pix)
	top, left := g.Pad[0], g.Pad[2]
	for row := 0; row < scaled.H; row++ {
		o := ((top+row)*dst.W + left) * 3
		copy(dst.Pix[o:o+scaled.W*3], scaled.Pix[row*scaled.W*3:(row+1)*scaled.W*3])
	}
	return nil
}

// FlipLR mirrors img left to right in place (np.fliplr).
func FlipLR(img *RGB) {
	for y := 0; y < img.H; y++ {
		row := img.Pix[y*img.W*3 : (y+1)*img.W*3]
		for a, b := 0, img.W-1; a < b; a, b = a+1, b-1 {
			row[a*3], row[b*3] = row[b*3], row[a*3]
			row[a*3+1], row[b*3+1] = row[b*3+1], row[a*3+1]
			row[a*3+2], row[b*3+2] = row[b*3+2], row[a*3+2]
		}
	}
}

func growInt(s []int, n int) []int {
	if cap(s) < n {
		return make([]int, n)
	}
	return s[:n]
}

func growF(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n)
	}
	return s[:n]
}
