package mask

import (
	"math"
	"testing"
)

func fixtureRLEs(b *testing.B) []RLE {
	var rs []RLE
	for _, d := range segmFixture(b) {
		s := d.Segmentation
		if s.Size != [2]int{480, 640} {
			continue
		}
		r, err := FromString(s.Counts, s.Size[0], s.Size[1])
		if err != nil {
			b.Fatal(err)
		}
		rs = append(rs, r)
	}
	return rs
}

// BenchmarkIoU: 100 detections × 20 ground truths of 480×640 masks from
// cocoapi's demo results, the shape of one image × category in COCOeval.
func BenchmarkIoU(b *testing.B) {
	rs := fixtureRLEs(b)
	dt := make([]RLE, 100)
	for i := range dt {
		dt[i] = rs[i%len(rs)]
	}
	gt := make([]RLE, 20)
	for i := range gt {
		gt[i] = rs[(7*i+3)%len(rs)]
	}
	out := IoU(dt, gt, nil)
	b.ResetTimer()
	for b.Loop() {
		IoUInto(out, dt, gt, nil)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(dt)*len(gt)), "ns/pair")
}

func BenchmarkFromString(b *testing.B) {
	var strs []string
	for _, d := range segmFixture(b) {
		strs = append(strs, d.Segmentation.Counts)
	}
	dets := segmFixture(b)
	b.ResetTimer()
	for b.Loop() {
		for i, s := range strs {
			if _, err := FromString(s, dets[i].Segmentation.Size[0], dets[i].Segmentation.Size[1]); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(strs)), "ns/mask")
}

// BenchmarkFromPolygon rasterises a 24-vertex polygon of about 200 px
// across in a 480×640 image.
func BenchmarkFromPolygon(b *testing.B) {
	xy := make([]float64, 0, 48)
	for k := 0; k < 24; k++ {
		// A star-ish outline without trigonometry in the loop.
		r := 100.0
		if k%2 == 1 {
			r = 70
		}
		c, s := unitCircle(k, 24)
		xy = append(xy, 320+r*c, 240+r*s)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := FromPolygon(xy, 480, 640); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	rs := fixtureRLEs(b)
	dst := make([]bool, 480*640)
	b.ResetTimer()
	for b.Loop() {
		for _, r := range rs {
			if err := r.DecodeInto(dst); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(rs)), "ns/mask")
}

func unitCircle(k, n int) (float64, float64) {
	a := 2 * 3.141592653589793 * float64(k) / float64(n)
	return math.Cos(a), math.Sin(a)
}
