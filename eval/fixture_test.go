package eval

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/graftrain/graftrain/internal/fixtures"
)

// Published COCOeval summaries of cocoapi's demo detections on the 100
// val2014 images of the fixture (its README): pycocotools' numbers, which
// faster_coco_eval's tests also assert.
var publishedStats = map[IoUType]Stats{
	BBox: {0.5045806987249628, 0.6969727247299577, 0.5729816669904824, 0.5856257209410443, 0.5193996948036719, 0.5013978986347466, 0.38681277964578054, 0.5936795762842003, 0.595352982877607, 0.6398109626113442, 0.5664205978994309, 0.5642905982905982},
	Segm: {0.3195452758576433, 0.5622883972521636, 0.29892653412086784, 0.3873740315997838, 0.31018272403369485, 0.3269339071005138, 0.2682297225711534, 0.41544868114906375, 0.4168394992198818, 0.4694498622754236, 0.37675922666197265, 0.3814715099715099},
}

var resultFiles = map[IoUType]string{BBox: "fakebbox100.json", Segm: "fakesegm100.json"}

func TestPublishedStats(t *testing.T) {
	dir := fixtures.Path(t, "coco_val2014_100")
	gt, err := LoadGroundTruth(context.Background(), filepath.Join(dir, "instances_val2014_100.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range []IoUType{BBox, Segm} {
		for _, workers := range []int{1, 4} {
			t.Run(string(typ), func(t *testing.T) {
				dt, err := LoadResults(filepath.Join(dir, resultFiles[typ]), gt)
				if err != nil {
					t.Fatal(err)
				}
				e, err := Evaluate(context.Background(), gt, dt, DefaultParams(typ), Options{Workers: workers})
				if err != nil {
					t.Fatal(err)
				}
				got, want := e.Stats(), publishedStats[typ]
				for i := range got {
					if math.Abs(got[i]-want[i]) > 1e-12 {
						t.Errorf("workers %d stat %d = %.17g, want %.17g (diff %.3g)", workers, i, got[i], want[i], got[i]-want[i])
					}
				}
			})
		}
	}
}

// TestWorkersDeterministic checks that the accumulated arrays do not depend
// on the number of workers, bit for bit.
func TestWorkersDeterministic(t *testing.T) {
	dir := fixtures.Path(t, "coco_val2014_100")
	gt, err := LoadGroundTruth(context.Background(), filepath.Join(dir, "instances_val2014_100.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range []IoUType{BBox, Segm} {
		dt, err := LoadResults(filepath.Join(dir, resultFiles[typ]), gt)
		if err != nil {
			t.Fatal(err)
		}
		var ref *Eval
		for _, workers := range []int{1, 3, 8} {
			e, err := Evaluate(context.Background(), gt, dt, DefaultParams(typ), Options{Workers: workers})
			if err != nil {
				t.Fatal(err)
			}
			if ref == nil {
				ref = e
				continue
			}
			for name, pair := range map[string][2][]float64{
				"precision": {ref.Precision, e.Precision}, "recall": {ref.Recall, e.Recall}, "scores": {ref.Scores, e.Scores},
			} {
				for i := range pair[0] {
					if math.Float64bits(pair[0][i]) != math.Float64bits(pair[1][i]) {
						t.Fatalf("%s %s[%d] with %d workers = %v, with 1 = %v", typ, name, i, workers, pair[1][i], pair[0][i])
					}
				}
			}
		}
	}
}
