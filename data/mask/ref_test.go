package mask

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// refPoly is a literal transcription of maskApi's rleFrPoly (float column
// and row tests, dense point lists), kept to check the streaming integer
// form in poly.go.
func refPoly(xy []float64, h, w int) []uint32 {
	k := len(xy) / 2
	x := make([]int, k+1)
	y := make([]int, k+1)
	for j := 0; j < k; j++ {
		x[j] = int(5*xy[2*j] + .5)
		y[j] = int(5*xy[2*j+1] + .5)
	}
	x[k], y[k] = x[0], y[0]
	var u, v []int
	for j := 0; j < k; j++ {
		xs, xe, ys, ye := x[j], x[j+1], y[j], y[j+1]
		dx, dy := iabs(xe-xs), iabs(ys-ye)
		flip := (dx >= dy && xs > xe) || (dx < dy && ys > ye)
		if flip {
			xs, xe = xe, xs
			ys, ye = ye, ys
		}
		if dx >= dy {
			s := math.NaN()
			if dx != 0 {
				s = float64(ye-ys) / float64(dx)
			}
			for d := 0; d <= dx; d++ {
				t := d
				if flip {
					t = dx - d
				}
				f := float64(ys) + float64(s*float64(t)) + .5
				vv := math.MinInt32
				if !math.IsNaN(f) {
					vv = int(f)
				}
				u, v = append(u, t+xs), append(v, vv)
			}
		} else {
			s := float64(xe-xs) / float64(dy)
			for d := 0; d <= dy; d++ {
				t := d
				if flip {
					t = dy - d
				}
				u, v = append(u, int(float64(xs)+float64(s*float64(t))+.5)), append(v, t+ys)
			}
		}
	}
	var a []uint32
	for j := 1; j < len(u); j++ {
		if u[j] == u[j-1] {
			continue
		}
		xd := float64(u[j])
		if u[j] >= u[j-1] {
			xd = float64(u[j] - 1)
		}
		xd = (xd+.5)/5 - .5
		if math.Floor(xd) != xd || xd < 0 || xd > float64(w-1) {
			continue
		}
		yd := float64(min(v[j], v[j-1]))
		yd = (yd+.5)/5 - .5
		if yd < 0 {
			yd = 0
		} else if yd > float64(h) {
			yd = float64(h)
		}
		yd = math.Ceil(yd)
		a = append(a, uint32(int(xd)*h+int(yd)))
	}
	a = append(a, uint32(h*w))
	slices.Sort(a)
	var p uint32
	for j := range a {
		t := a[j]
		a[j] -= p
		p = t
	}
	b := []uint32{a[0]}
	for j := 1; j < len(a); {
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
	return b
}

func randomPolygon(rng *rand.Rand, h, w int) []float64 {
	n := 3 + rng.IntN(8)
	xy := make([]float64, 2*n)
	for i := range n {
		switch rng.IntN(3) {
		case 0: // on the fine grid
			xy[2*i] = float64(rng.IntN(5*(w+4))-10) / 5
			xy[2*i+1] = float64(rng.IntN(5*(h+4))-10) / 5
		case 1: // anywhere, also outside the image
			xy[2*i] = rng.Float64()*float64(w+6) - 3
			xy[2*i+1] = rng.Float64()*float64(h+6) - 3
		case 2: // a repeated vertex (zero-length edge)
			if i > 0 {
				xy[2*i], xy[2*i+1] = xy[2*i-2], xy[2*i-1]
			} else {
				xy[0], xy[1] = float64(rng.IntN(w)), float64(rng.IntN(h))
			}
		}
	}
	return xy
}

func TestFromPolygonMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for it := 0; it < 5000; it++ {
		h, w := 1+rng.IntN(40), 1+rng.IntN(40)
		xy := randomPolygon(rng, h, w)
		r, err := FromPolygon(xy, h, w)
		if err != nil {
			t.Fatal(err)
		}
		if want := refPoly(xy, h, w); !slices.Equal(r.Counts, want) {
			t.Fatalf("polygon %v in %d×%d:\n got %v\nwant %v", xy, h, w, r.Counts, want)
		}
	}
}
