package eval

import (
	"context"
	"math"
	"testing"
)

// Hand-built cases whose answers follow from COCOeval's rules (see
// docs/evaluation.md): one image 200×200 unless said otherwise, boxes as x,
// y, w, h, object areas set explicitly.

func obj(id, img, cat int64, box [4]float64, area float64, crowd bool) Object {
	return Object{ID: id, ImageID: img, CategoryID: cat, BBox: box, Area: area, IsCrowd: crowd}
}

func det(img, cat int64, box [4]float64, score float64) Detection {
	return Detection{ImageID: img, CategoryID: cat, BBox: box, Score: score, Area: box[2] * box[3]}
}

func gtOf(objs []Object, images ...int64) *GroundTruth {
	gt := &GroundTruth{Categories: []Category{{1, "a"}, {2, "b"}}, Annotations: objs}
	if len(images) == 0 {
		images = []int64{1}
	}
	for _, id := range images {
		gt.Images = append(gt.Images, Image{ID: id, Height: 200, Width: 200})
	}
	return gt
}

// numbered gives detections ids 1..N in order, as loading a results file does.
func numbered(d ...Detection) []Detection {
	for i := range d {
		d[i].ID = int64(i + 1)
	}
	return d
}

// one is the precision of a lone true positive: tp/(fp+tp+eps) = 1/(1+eps).
var one = 1 / (1 + eps)

const none = -1.0

func TestHandCases(t *testing.T) {
	sq := func(x, y, s float64) [4]float64 { return [4]float64{x, y, s, s} }
	far := func(i int) [4]float64 { return [4]float64{float64(i%19) * 10, 100 + float64(i/19)*10, 5, 5} }
	var many []Detection // 99 false positives above one true positive
	for i := range 99 {
		many = append(many, det(1, 1, far(i), 0.9-float64(i)*0.001))
	}
	tpLast := append(append([]Detection{}, many...), det(1, 1, sq(0, 0, 10), 0.1))
	tpCut := append(append([]Detection{}, tpLast[:99]...), det(1, 1, far(99), 0.2), det(1, 1, sq(0, 0, 10), 0.1))
	tie := 51.0 / 101 // recall points 0, .01, ..., .50 reached

	for _, tc := range []struct {
		name   string
		gt     *GroundTruth
		dt     []Detection
		noCats bool
		want   Stats
	}{{
		name: "single perfect match (small object)",
		gt:   gtOf([]Object{obj(1, 1, 1, sq(0, 0, 10), 100, false)}),
		dt:   numbered(det(1, 1, sq(0, 0, 10), 0.9)),
		want: Stats{one, one, one, one, none, none, 1, 1, 1, 1, none, none},
	}, {
		name: "detection inside a crowd region is ignored, crowd matched twice",
		gt:   gtOf([]Object{obj(1, 1, 1, sq(0, 0, 100), 10000, true), obj(2, 1, 1, sq(150, 150, 10), 100, false)}),
		dt:   numbered(det(1, 1, sq(10, 10, 20), 0.9), det(1, 1, sq(50, 50, 20), 0.85), det(1, 1, sq(150, 150, 10), 0.8)),
		// With one detection per image only the ignored one is kept.
		want: Stats{one, one, one, one, none, none, 0, 1, 1, 1, none, none},
	}, {
		// At IoU .50 the loose box matches first and the tight one is a
		// duplicate; above .50 the loose box is a false positive ranked
		// first, so precision is 1/2 at every recall point.
		name: "duplicate detections",
		gt:   gtOf([]Object{obj(1, 1, 1, sq(0, 0, 10), 100, false)}),
		dt:   numbered(det(1, 1, [4]float64{0, 0, 10, 5}, 0.9), det(1, 1, sq(0, 0, 10), 0.8)),
		want: Stats{(one + 9*0.5) / 10, one, 0.5, (one + 9*0.5) / 10, none, none, 0.1, 1, 1, 1, none, none},
	}, {
		// 32² belongs to small and medium, 96² to medium and large.
		name: "area range edges",
		gt:   gtOf([]Object{obj(1, 1, 1, sq(0, 0, 32), 32*32, false), obj(2, 1, 1, sq(100, 100, 96), 96*96, false)}),
		dt:   numbered(det(1, 1, sq(0, 0, 32), 0.9), det(1, 1, sq(100, 100, 96), 0.8)),
		want: Stats{one, one, one, one, one, one, 0.5, 1, 1, 1, 1, 1},
	}, {
		// An unmatched medium-sized detection is ignored for small objects
		// but is a false positive ranked first over all areas.
		name: "unmatched detection outside the area range",
		gt:   gtOf([]Object{obj(1, 1, 1, sq(0, 0, 10), 100, false)}),
		dt:   numbered(det(1, 1, sq(100, 100, 50), 0.9), det(1, 1, sq(0, 0, 10), 0.8)),
		want: Stats{0.5, 0.5, 0.5, one, none, none, 0, 1, 1, 1, none, none},
	}, {
		name: "true positive ranked 100th",
		gt:   gtOf([]Object{obj(1, 1, 1, sq(0, 0, 10), 100, false)}),
		dt:   numbered(tpLast...),
		want: Stats{1 / (99 + 1 + eps), 1 / (99 + 1 + eps), 1 / (99 + 1 + eps), 1 / (99 + 1 + eps), none, none, 0, 0, 1, 1, none, none},
	}, {
		name: "true positive ranked 101st is cut by maxDets",
		gt:   gtOf([]Object{obj(1, 1, 1, sq(0, 0, 10), 100, false)}),
		dt:   numbered(tpCut...),
		want: Stats{0, 0, 0, 0, none, none, 0, 0, 0, 0, none, none},
	}, {
		name: "empty images and a category without objects",
		gt:   gtOf([]Object{obj(1, 1, 1, sq(0, 0, 10), 100, false)}, 1, 2, 3),
		dt:   numbered(det(1, 1, sq(0, 0, 10), 0.9), det(3, 2, sq(0, 0, 10), 0.95)),
		want: Stats{one, one, one, one, none, none, 1, 1, 1, 1, none, none},
	}, {
		name: "no detections at all",
		gt:   gtOf([]Object{obj(1, 1, 1, sq(0, 0, 10), 100, false)}),
		dt:   nil,
		want: Stats{0, 0, 0, 0, none, none, 0, 0, 0, 0, none, none},
	}, {
		name: "no objects at all",
		gt:   gtOf(nil),
		dt:   numbered(det(1, 1, sq(0, 0, 10), 0.9)),
		want: Stats{none, none, none, none, none, none, none, none, none, none, none, none},
	}, {
		// Equal scores keep image order: the false positive of image 1
		// comes before the true positive of image 2.
		name: "score ties across images",
		gt:   gtOf([]Object{obj(1, 1, 1, sq(0, 0, 10), 100, false), obj(2, 2, 1, sq(0, 0, 10), 100, false)}, 1, 2),
		dt:   numbered(det(2, 1, sq(0, 0, 10), 0.5), det(1, 1, sq(100, 100, 10), 0.5)),
		want: Stats{0.5 * tie, 0.5 * tie, 0.5 * tie, 0.5 * tie, none, none, 0.5, 0.5, 0.5, 0.5, none, none},
	}, {
		// pycocotools records a match by the object's id, so a match with
		// id 0 reads as no match: a false positive.
		name: "object with id 0",
		gt:   gtOf([]Object{obj(0, 1, 1, sq(0, 0, 10), 100, false)}),
		dt:   numbered(det(1, 1, sq(0, 0, 10), 0.9)),
		want: Stats{0, 0, 0, 0, none, none, 0, 0, 0, 0, none, none},
	}, {
		name:   "useCats false matches across categories",
		gt:     gtOf([]Object{obj(1, 1, 1, sq(0, 0, 10), 100, false)}),
		dt:     numbered(det(1, 2, sq(0, 0, 10), 0.9)),
		noCats: true,
		want:   Stats{one, one, one, one, none, none, 1, 1, 1, 1, none, none},
	}, {
		name: "useCats true keeps categories apart",
		gt:   gtOf([]Object{obj(1, 1, 1, sq(0, 0, 10), 100, false)}),
		dt:   numbered(det(1, 2, sq(0, 0, 10), 0.9)),
		want: Stats{0, 0, 0, 0, none, none, 0, 0, 0, 0, none, none},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			p := DefaultParams(BBox)
			p.UseCats = !tc.noCats
			e, err := Evaluate(context.Background(), tc.gt, tc.dt, p, Options{Workers: 2})
			if err != nil {
				t.Fatal(err)
			}
			got := e.Stats()
			for i := range got {
				if math.Abs(got[i]-tc.want[i]) > 1e-12 {
					t.Errorf("stat %d = %.17g, want %.17g", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestCategoryWithoutObjects(t *testing.T) {
	gt := gtOf([]Object{obj(1, 1, 1, [4]float64{0, 0, 10, 10}, 100, false)})
	dt := numbered(det(1, 1, [4]float64{0, 0, 10, 10}, 0.9), det(1, 2, [4]float64{50, 50, 10, 10}, 0.8))
	e, err := Evaluate(context.Background(), gt, dt, DefaultParams(BBox), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range e.CategoryStats(1) {
		if v != -1 {
			t.Errorf("category 2 stat %d = %v, want -1 (no objects)", i, v)
		}
	}
	if got := e.CategoryStats(0)[0]; math.Abs(got-one) > 1e-15 {
		t.Errorf("category 1 AP = %v, want %v", got, one)
	}
}

func TestEvaluateInputChecks(t *testing.T) {
	gt := gtOf([]Object{obj(1, 1, 1, [4]float64{0, 0, 10, 10}, 100, false)})
	dt := numbered(det(1, 1, [4]float64{0, 0, 10, 10}, math.NaN()))
	if _, err := Evaluate(context.Background(), gt, dt, DefaultParams(BBox), Options{}); err == nil {
		t.Error("NaN score accepted")
	}
	p := DefaultParams(BBox)
	p.ImgIDs = []int64{1, 99}
	if _, err := Evaluate(context.Background(), gt, nil, p, Options{}); err == nil {
		t.Error("image id outside the ground truth accepted")
	}
	// maxDets are sorted before use, as COCOeval does.
	dt = numbered(det(1, 1, [4]float64{50, 50, 10, 10}, 0.9), det(1, 1, [4]float64{0, 0, 10, 10}, 0.8))
	p = DefaultParams(BBox)
	p.MaxDets = []int{100, 1, 10}
	a, err := Evaluate(context.Background(), gt, dt, p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Evaluate(context.Background(), gt, dt, DefaultParams(BBox), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Stats() != b.Stats() {
		t.Errorf("unsorted maxDets give %v, sorted %v", a.Stats(), b.Stats())
	}
}
