package eval

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"github.com/graftrain/graftrain/data/coco"
	"github.com/graftrain/graftrain/data/mask"
)

// The benchmark workload is COCO val2017-sized: 5,000 images of 480×640,
// about 36,000 objects in 80 categories and 100 detections per image, with
// masks as compressed RLE. It is generated from a fixed seed, never stored.
const (
	benchImages     = 5000
	benchCategories = 80
	benchDets       = 100
	benchH, benchW  = 480, 640
)

var benchData = sync.OnceValues(func() (*GroundTruth, []Detection) {
	return makeWorkload(rand.New(rand.NewPCG(2017, 5)))
})

// ellipse returns the RLE (and its compressed JSON) of the ellipse
// inscribed in box (x, y, w, h), one run of 1s per column, and its area.
func ellipse(box [4]float64) (mask.RLE, json.RawMessage, float64) {
	x0, x1 := int(box[0]), min(int(box[0]+box[2]), benchW)
	cx, cy := box[0]+box[2]/2, box[1]+box[3]/2
	rx, ry := box[2]/2, box[3]/2
	counts := make([]uint32, 0, 2*(x1-x0)+1)
	pos, area := 0, 0 // pixels emitted so far, column-major
	for x := x0; x < x1; x++ {
		dx := (float64(x) + 0.5 - cx) / rx
		if dx*dx >= 1 {
			continue
		}
		hy := ry * math.Sqrt(1-dx*dx)
		ya, yb := max(int(cy-hy+0.5), 0), min(int(cy+hy+0.5), benchH)
		if yb <= ya {
			continue
		}
		start := x*benchH + ya
		counts = append(counts, uint32(start-pos), uint32(yb-ya))
		pos = x*benchH + yb
		area += yb - ya
	}
	counts = append(counts, uint32(benchH*benchW-pos))
	r := mask.RLE{H: benchH, W: benchW, Counts: counts}
	b, _ := json.Marshal(map[string]any{"size": []int{benchH, benchW}, "counts": r.String()})
	return r, b, float64(area)
}

func makeWorkload(rng *rand.Rand) (*GroundTruth, []Detection) {
	gt := &GroundTruth{}
	for c := range benchCategories {
		gt.Categories = append(gt.Categories, Category{ID: int64(c + 1), Name: fmt.Sprint("c", c+1)})
	}
	randBox := func() [4]float64 {
		// Log-uniform sizes from 4 to 400 pixels: COCO's mix of small,
		// medium and large objects.
		w := math.Exp(rng.Float64()*math.Log(100)) * 4
		h := w * (0.5 + rng.Float64())
		w, h = min(w, benchW-1), min(h, benchH-1)
		return [4]float64{rng.Float64() * (benchW - w), rng.Float64() * (benchH - h), w, h}
	}
	var dets []Detection
	for i := range benchImages {
		img := int64(i + 1)
		gt.Images = append(gt.Images, Image{ID: img, Height: benchH, Width: benchW})
		n := rng.IntN(14) + 1 // 7.5 objects per image on average
		var objs []Object
		for range n {
			box := randBox()
			r, _, area := ellipse(box)
			o := Object{
				ID: int64(len(gt.Annotations) + 1), ImageID: img,
				CategoryID: int64(1 + int(float64(benchCategories)*rng.Float64()*rng.Float64())),
				BBox:       box, Area: area, IsCrowd: rng.IntN(100) == 0, Segmentation: coco.Segmentation{Kind: coco.CompressedRLE, RLE: r},
			}
			objs = append(objs, o)
			gt.Annotations = append(gt.Annotations, o)
		}
		for d := range benchDets {
			var box [4]float64
			cat := int64(1 + rng.IntN(benchCategories))
			if d < 4*n {
				// Jittered copies of the objects, mostly with the right label.
				o := objs[d%n]
				j := 0.05 + 0.2*rng.Float64()
				box = o.BBox
				box[0] += (rng.Float64() - 0.5) * j * box[2]
				box[1] += (rng.Float64() - 0.5) * j * box[3]
				box[2] *= 1 + (rng.Float64()-0.5)*j
				box[3] *= 1 + (rng.Float64()-0.5)*j
				box[0], box[1] = max(box[0], 0), max(box[1], 0)
				if rng.IntN(5) > 0 {
					cat = o.CategoryID
				}
			} else {
				box = randBox()
			}
			_, seg, _ := ellipse(box)
			dets = append(dets, Detection{
				ID: int64(len(dets) + 1), ImageID: img, CategoryID: cat, BBox: box,
				Score: math.Round(rng.Float64()*1000) / 1000, Segmentation: seg,
			})
		}
	}
	return gt, dets
}

// publishedSeconds are the evaluation times faster-coco-eval's README
// (1.4.1) gives for COCO val2017 (5,000 images, mmdetection detections):
// pycocotools' COCOeval and faster-coco-eval's COCOeval_faster.
var publishedSeconds = map[IoUType]struct{ pycocotools, fasterCOCOEval float64 }{
	BBox: {18.477, 7.345},
	Segm: {29.819, 15.840},
}

// BenchmarkEvaluate measures evaluate+accumulate+summarize on the workload;
// its setup (generation, writing and loading the results file) is not
// timed. Run it with -benchtime=1x: one iteration is a full COCO
// evaluation.
func BenchmarkEvaluate(b *testing.B) {
	gt, base := benchData()
	for _, typ := range []IoUType{BBox, Segm} {
		// Through a results file, as from the command line.
		type result struct {
			ImageID      int64           `json:"image_id"`
			CategoryID   int64           `json:"category_id"`
			BBox         *[4]float64     `json:"bbox,omitempty"`
			Score        float64         `json:"score"`
			Segmentation json.RawMessage `json:"segmentation,omitempty"`
		}
		rs := make([]result, len(base))
		for i, d := range base {
			rs[i] = result{ImageID: d.ImageID, CategoryID: d.CategoryID, Score: d.Score}
			if typ == BBox {
				rs[i].BBox = &base[i].BBox
			} else {
				rs[i].Segmentation = d.Segmentation
			}
		}
		file, err := json.Marshal(rs)
		if err != nil {
			b.Fatal(err)
		}
		dt, err := ParseResults(file, gt)
		if err != nil {
			b.Fatal(err)
		}
		for _, workers := range []int{1, runtime.GOMAXPROCS(0)} {
			b.Run(fmt.Sprintf("%s/workers=%d", typ, workers), func(b *testing.B) {
				cpu0 := cpuSeconds()
				for b.Loop() {
					e, err := Evaluate(context.Background(), gt, dt, DefaultParams(typ), Options{Workers: workers})
					if err != nil {
						b.Fatal(err)
					}
					if s := e.Stats(); s[0] <= 0 || s[0] >= 1 {
						b.Fatalf("implausible AP %v", s[0])
					}
				}
				b.ReportMetric((cpuSeconds()-cpu0)/float64(b.N), "cpu-s/op")
				// The ratios against the published reference times (other
				// hardware, real detections: indications, see
				// docs/performance.md).
				sec := b.Elapsed().Seconds() / float64(b.N)
				ref := publishedSeconds[typ]
				b.ReportMetric(ref.pycocotools/sec, "x-pycocotools")
				b.ReportMetric(ref.fasterCOCOEval/sec, "x-faster-coco-eval")
				b.ReportMetric(float64(len(gt.Annotations)), "objects")
				b.ReportMetric(float64(len(dt)), "detections")
			})
		}
	}
}

// BenchmarkParseResults measures reading the workload's results file (mask
// results: every RLE is decoded once for its area).
func BenchmarkParseResults(b *testing.B) {
	gt, base := benchData()
	type result struct {
		ImageID      int64           `json:"image_id"`
		CategoryID   int64           `json:"category_id"`
		Score        float64         `json:"score"`
		Segmentation json.RawMessage `json:"segmentation"`
	}
	rs := make([]result, len(base))
	for i, d := range base {
		rs[i] = result{d.ImageID, d.CategoryID, d.Score, d.Segmentation}
	}
	file, err := json.Marshal(rs)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(file)))
	for b.Loop() {
		if _, err := ParseResults(file, gt); err != nil {
			b.Fatal(err)
		}
	}
}
