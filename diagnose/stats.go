package diagnose

import (
	"math"
	"slices"
)

// median returns the median of xs (NaN for none). xs is not modified.
func median(xs []float64) float64 {
	return quantile(xs, 0.5)
}

// quantile returns the q-quantile of xs by linear interpolation between
// order statistics (NaN for none).
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	if lo == hi {
		return s[lo]
	}
	return s[lo] + (s[hi]-s[lo])*(pos-float64(lo))
}

// mad is the median absolute deviation from the median.
func mad(xs []float64) float64 {
	m := median(xs)
	d := make([]float64, len(xs))
	for i, x := range xs {
		d[i] = math.Abs(x - m)
	}
	return median(d)
}

// Slope is a Theil–Sen estimate of a trend with its confidence interval.
type Slope struct {
	Slope, Lo, Hi float64 // per unit of x
	Intercept     float64 // at x = 0
	N             int
}

// theilSen fits y = a + b·x by the median of pairwise slopes, robust to a
// few wild points, with Sen's distribution-free confidence interval at
// about 95% (from the variance of Kendall's S, ties ignored).
//
// Long series are first reduced to maxTrendPoints block medians, which
// keeps the fit O(1) in the run's length and robust to noise.
func theilSen(x, y []float64) Slope {
	if len(x) > maxTrendPoints && len(y) == len(x) {
		x, y = blockMedians(x, maxTrendPoints), blockMedians(y, maxTrendPoints)
	}
	n := len(x)
	if n < 2 || len(y) != n {
		return Slope{Slope: math.NaN(), Lo: math.NaN(), Hi: math.NaN(), N: n}
	}
	slopes := make([]float64, 0, n*(n-1)/2)
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			if dx := x[j] - x[i]; dx != 0 {
				slopes = append(slopes, (y[j]-y[i])/dx)
			}
		}
	}
	if len(slopes) == 0 {
		return Slope{Slope: math.NaN(), Lo: math.NaN(), Hi: math.NaN(), N: n}
	}
	slices.Sort(slopes)
	m := len(slopes)
	b := medianSorted(slopes)
	nf := float64(n)
	c := 1.96 * math.Sqrt(nf*(nf-1)*(2*nf+5)/18)
	lo := int(math.Floor((float64(m) - c) / 2))
	hi := int(math.Ceil((float64(m) + c) / 2))
	lo = min(max(lo, 0), m-1)
	hi = min(max(hi, 0), m-1)
	res := make([]float64, n)
	for i := range x {
		res[i] = y[i] - b*x[i]
	}
	return Slope{Slope: b, Lo: slopes[lo], Hi: slopes[hi], Intercept: median(res), N: n}
}

// maxTrendPoints bounds the points a trend is fitted on (the pairwise
// slopes grow with its square).
const maxTrendPoints = 400

// blockMedians splits xs into k consecutive blocks of near-equal size and
// returns each block's median.
func blockMedians(xs []float64, k int) []float64 {
	out := make([]float64, k)
	n := len(xs)
	for i := range k {
		out[i] = median(xs[i*n/k : (i+1)*n/k])
	}
	return out
}

func medianSorted(s []float64) float64 {
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func finite(v float64) bool {
	return !math.IsNaN(v) && !math.IsInf(v, 0) && math.Abs(v) < math.MaxFloat64
}

// roundSig rounds v to one significant digit (0.0034 → 0.003), the
// precision a suggested setting needs.
func roundSig(v float64) float64 {
	if v == 0 || !finite(v) {
		return v
	}
	e := math.Floor(math.Log10(math.Abs(v)))
	p := math.Pow(10, e)
	return math.Round(v/p) * p
}
