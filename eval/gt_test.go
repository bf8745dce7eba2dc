package eval

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/graftrain/graftrain/data/coco"
)

func TestReadGroundTruth(t *testing.T) {
	doc := `{"images": [{"id": 3, "file_name": "a.jpg", "height": 8, "width": 6}],
	 "categories": [{"id": 5, "name": "cat"}],
	 "annotations": [{"id": 9, "image_id": 3, "category_id": 5, "bbox": [1, 2, 3, 4], "area": 12.5, "iscrowd": 1,
	   "segmentation": {"size": [8, 6], "counts": [0, 48]}}]}`
	gt, err := ReadGroundTruth(context.Background(), strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	o := gt.Annotations[0]
	if gt.Images[0] != (Image{ID: 3, Height: 8, Width: 6}) || gt.Categories[0] != (Category{5, "cat"}) ||
		o.ID != 9 || o.ImageID != 3 || o.CategoryID != 5 || o.BBox != [4]float64{1, 2, 3, 4} || o.Area != 12.5 || !o.IsCrowd {
		t.Errorf("read %+v", gt)
	}
	if m, err := o.Segmentation.ToRLE(8, 6); err != nil || m.Area() != 48 {
		t.Errorf("segmentation: area %d, %v; want 48", m.Area(), err)
	}
}

func TestReadGroundTruthErrors(t *testing.T) {
	for _, tc := range []struct {
		doc, want string
		is        error
	}{
		{`{"images": [], "categories": [], "annotations": [{"id": 5, "image_id": 1, "category_id": 1, "area": 1}]}`, "image_id 1 is not in images", coco.ErrUnknownImage},
		{"{\"images\": [}", "", coco.ErrSyntax},
	} {
		_, err := ReadGroundTruth(context.Background(), strings.NewReader(tc.doc))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, tc.is) {
			t.Errorf("ReadGroundTruth(%s) error %v, want %q wrapping %v", tc.doc, err, tc.want, tc.is)
		}
	}
}

// FuzzGroundTruth checks that no ground-truth file makes loading or a box
// or mask evaluation against a fixed detection panic.
func FuzzGroundTruth(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join(fixtureDir(f), "instances_val2014_100.json")); err == nil {
		// A few images and annotations of the real file.
		var doc map[string][]json.RawMessage
		if json.Unmarshal(b, &doc) == nil && len(doc["images"]) > 3 && len(doc["annotations"]) > 6 {
			small, _ := json.Marshal(map[string][]json.RawMessage{
				"images": doc["images"][:3], "annotations": doc["annotations"][:6], "categories": doc["categories"],
			})
			f.Add(small)
		}
	}
	f.Add([]byte(`{"images": [{"id": 1, "file_name": "a", "height": 8, "width": 8}], "categories": [{"id": 1, "name": "a"}],
	 "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 4, 4], "area": 16, "iscrowd": 0, "segmentation": [[0, 0, 4, 0, 4, 4, 0, 4]]},
	 {"id": 2, "image_id": 1, "category_id": 1, "bbox": [0, 0, 8, 8], "area": 64, "iscrowd": 1, "segmentation": {"size": [8, 8], "counts": [0, 64]}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		gt, err := ReadGroundTruth(context.Background(), bytes.NewReader(b))
		if err != nil || len(gt.Images) == 0 {
			return
		}
		im := gt.Images[0]
		if im.Height*im.Width > 1<<16 {
			return
		}
		dt := []Detection{{ID: 1, ImageID: im.ID, CategoryID: 1, BBox: [4]float64{0, 0, 4, 4}, Score: 1, Area: 16}}
		for _, typ := range []IoUType{BBox, Segm} {
			e, err := Evaluate(context.Background(), gt, dt, DefaultParams(typ), Options{Workers: 1})
			if err != nil {
				continue
			}
			for i, s := range e.Stats() {
				if s < -1 || s > 1 {
					t.Fatalf("%s stat %d = %v, outside [-1, 1]", typ, i, s)
				}
			}
		}
	})
}
