package diagnose

import (
	"math"
	"testing"
)

func TestTheilSenIgnoresOutliers(t *testing.T) {
	var x, y []float64
	for i := range 50 {
		x = append(x, float64(i))
		y = append(y, 3-0.5*float64(i))
	}
	y[10], y[30] = 1000, -1000 // two wild points do not move the median slope
	s := theilSen(x, y)
	if math.Abs(s.Slope+0.5) > 1e-12 || math.Abs(s.Intercept-3) > 1e-12 {
		t.Fatalf("slope %v intercept %v, want -0.5 and 3", s.Slope, s.Intercept)
	}
	if !(s.Lo <= s.Slope && s.Slope <= s.Hi) {
		t.Fatalf("interval [%v, %v] does not hold the slope %v", s.Lo, s.Hi, s.Slope)
	}
}

func TestTheilSenIntervalCoversNoise(t *testing.T) {
	// A flat series with alternating noise: the interval must hold 0.
	var x, y []float64
	for i := range 40 {
		x = append(x, float64(i))
		y = append(y, 2+0.3*float64((i*7)%5-2))
	}
	s := theilSen(x, y)
	if !(s.Lo <= 0 && 0 <= s.Hi) {
		t.Fatalf("flat series: interval [%v, %v] excludes 0", s.Lo, s.Hi)
	}
}

func TestQuantileAndMAD(t *testing.T) {
	xs := []float64{5, 1, 3, 2, 4}
	if m := median(xs); m != 3 {
		t.Fatalf("median %v, want 3", m)
	}
	if q := quantile(xs, 0.25); q != 2 {
		t.Fatalf("q25 %v, want 2", q)
	}
	if d := mad(xs); d != 1 {
		t.Fatalf("mad %v, want 1", d)
	}
	if m := median([]float64{1, 2, 3, 10}); m != 2.5 {
		t.Fatalf("even median %v, want 2.5", m)
	}
}

func TestRoundSig(t *testing.T) {
	for _, c := range []struct{ in, want float64 }{{0.0034, 0.003}, {0.96, 1}, {150, 200}, {1, 1}} {
		if got := roundSig(c.in); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("roundSig(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestTheilSenLongSeries(t *testing.T) {
	// 100k points would be 5e9 pairwise slopes; block medians keep the
	// estimate exact for a line.
	var x, y []float64
	for i := range 100_000 {
		x = append(x, float64(i))
		y = append(y, 10-0.0001*float64(i))
	}
	s := theilSen(x, y)
	if math.Abs(s.Slope+0.0001) > 1e-9 || math.Abs(s.Intercept-10) > 1e-6 {
		t.Fatalf("slope %v intercept %v, want -1e-4 and 10", s.Slope, s.Intercept)
	}
}
