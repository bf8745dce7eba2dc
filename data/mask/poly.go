package mask

import (
	"fmt"
	"math"
	"slices"
)

// polyScale is maskApi's upsampling factor: the boundary is traced on a
// grid five times finer than the pixels, then sampled at pixel centres.
const polyScale = 5

// FromPolygon rasterises one polygon given as x0, y0, x1, y1, ... in pixel
// coordinates into an h×w RLE, exactly as maskApi's rleFrPoly does: a pixel
// is inside when its centre is, with the boundary rounding rules of the C
// code (truncating float-to-int conversions included).
func FromPolygon(xy []float64, h, w int) (RLE, error) {
	if err := checkDims(h, w); err != nil {
		return RLE{}, err
	}
	if len(xy)%2 != 0 {
		return RLE{}, fmt.Errorf("polygon has an odd number of coordinates (%d)", len(xy))
	}
	for i, v := range xy {
		if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > 1e8 {
			return RLE{}, fmt.Errorf("polygon coordinate %d is %v, outside the ±1e8 pixel range", i, v)
		}
	}
	if h == 0 || w == 0 {
		return RLE{H: h, W: w, Counts: []uint32{0}}, nil
	}
	var n float64
	k := len(xy) / 2
	for j := 0; j < k; j++ {
		i := (j + 1) % k
		n += max(math.Abs(xy[2*j]-xy[2*i]), math.Abs(xy[2*j+1]-xy[2*i+1]))*polyScale + 2
	}
	if n > maxTrace {
		return RLE{}, fmt.Errorf("polygon perimeter of about %.0f pixels is too long to rasterise (limit %d)", n/polyScale, maxTrace/polyScale)
	}
	return fromPoly(xy, h, w), nil
}

// maxTrace bounds the boundary points traced for one polygon, so a corrupt
// coordinate cannot make rasterising take minutes; real outlines are far
// shorter.
const maxTrace = 1 << 22

func iabs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func fromPoly(xy []float64, h, w int) RLE {
	k := len(xy) / 2
	// Corners on the fine grid; C's (int) cast truncates toward zero.
	x := make([]int, k+1)
	y := make([]int, k+1)
	for j := 0; j < k; j++ {
		x[j] = int(polyScale*xy[2*j] + .5)
		y[j] = int(polyScale*xy[2*j+1] + .5)
	}
	if k > 0 {
		x[k], y[k] = x[0], y[0]
	}
	// maskApi traces every edge into a dense list of fine points, then scans
	// consecutive points for column crossings. The scan is done here as the
	// points are produced, so no list is kept.
	a := make([]uint32, 0, 2*w+1)
	first := true
	var pu, pv int // the previous point
	visit := func(u, v int) {
		if first {
			first = false
			pu, pv = u, v
			return
		}
		if u != pu {
			// maskApi: xd = ((u < pu ? u : u-1) + .5)/5 - .5 must be a whole
			// column in 0..w-1, i.e. that value ≡ 2 (mod 5); the row is
			// ceil(clamp((min(v, pv) + .5)/5 - .5, 0, h)). Both are exact in
			// integers: the float forms are exact or a fifth away from a
			// whole number.
			xu := u - 1
			if u < pu {
				xu = u
			}
			if d := xu - 2; d >= 0 && d%polyScale == 0 && d/polyScale <= w-1 {
				col := d / polyScale
				row := 0
				if e := min(v, pv) - 2; e > 0 {
					row = min((e+polyScale-1)/polyScale, h)
				}
				a = append(a, uint32(col*h+row))
			}
		}
		pu, pv = u, v
	}
	// The explicit float64 conversions below forbid fusing s*t+x into one
	// FMA instruction (which Go may do on arm64), keeping C's rounding.
	// Trace every edge densely, always stepping along the major axis in the
	// increasing direction, so both directions of an edge give the same points.
	for j := 0; j < k; j++ {
		xs, xe, ys, ye := x[j], x[j+1], y[j], y[j+1]
		dx, dy := iabs(xe-xs), iabs(ys-ye)
		flip := (dx >= dy && xs > xe) || (dx < dy && ys > ye)
		if flip {
			xs, xe = xe, xs
			ys, ye = ye, ys
		}
		if dx >= dy {
			// dx == 0 only for a zero-length edge: C computes 0/0 = NaN and
			// its single point's row is then garbage, but that point always
			// sits between two points of the same column, so it never
			// produces a crossing. Any row does.
			s := 0.0
			if dx != 0 {
				s = float64(ye-ys) / float64(dx)
			}
			for d := 0; d <= dx; d++ {
				t := d
				if flip {
					t = dx - d
				}
				visit(t+xs, int(float64(ys)+float64(s*float64(t))+.5))
			}
		} else {
			s := float64(xe-xs) / float64(dy)
			for d := 0; d <= dy; d++ {
				t := d
				if flip {
					t = dy - d
				}
				visit(int(float64(xs)+float64(s*float64(t))+.5), t+ys)
			}
		}
	}
	a = append(a, uint32(h*w))
	slices.Sort(a)
	// Differences of the sorted crossing positions are the runs; a zero
	// difference (two crossings at one pixel) cancels the pair.
	var p uint32
	for j := range a {
		t := a[j]
		a[j] -= p
		p = t
	}
	b := make([]uint32, 0, len(a))
	j := 0
	b = append(b, a[j])
	j++
	for j < len(a) {
		if a[j] > 0 {
			b = append(b, a[j])
			j++
		} else {
			j++
			if j < len(a) {
				b[len(b)-1] += a[j]
				j++
			}
		}
	}
	return RLE{H: h, W: w, Counts: b}
}

// FromPolygons rasterises each polygon and returns their union, as
// pycocotools' frPyObjects followed by merge does for a COCO polygon
// segmentation with several parts.
func FromPolygons(polys [][]float64, h, w int) (RLE, error) {
	rs := make([]RLE, len(polys))
	for i, p := range polys {
		r, err := FromPolygon(p, h, w)
		if err != nil {
			return RLE{}, fmt.Errorf("polygon %d: %w", i, err)
		}
		rs[i] = r
	}
	if len(rs) == 0 {
		return RLE{}, fmt.Errorf("no polygons")
	}
	return Merge(rs, false)
}

// FromBBox rasterises box b as the polygon of its four corners (maskApi's
// rleFrBbox).
func FromBBox(b BBox, h, w int) (RLE, error) {
	xs, ys := b[0], b[1]
	xe, ye := xs+b[2], ys+b[3]
	return FromPolygon([]float64{xs, ys, xs, ye, xe, ye, xe, ys}, h, w)
}
