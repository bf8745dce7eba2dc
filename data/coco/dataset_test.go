package coco

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/graftrain/graftrain/data/mask"
)

func TestDatasetFixture(t *testing.T) {
	f, p := readFixture(t)
	ctx := context.Background()
	tests := []struct {
		name    string
		classes []string
		want    Stats
		samples int
		ncls    int
	}{
		// Every fixture image has a non-crowd annotation and no polygon is
		// empty (the smallest area is 15.6 px²).
		{"all", nil, Stats{Images: 100, Annotations: 839, Instances: 839, CrowdInstances: 9}, 100, 81},
		// person (id 1) and dog (id 18): counted from the JSON.
		{"person and dog", []string{"dog", "person"}, Stats{Images: 100, Annotations: 839, FilteredAnnotations: 580,
			SkippedImages: 43, Instances: 259, CrowdInstances: 6}, 57, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := NewDataset(ctx, f, filepath.Dir(p), Options{Classes: tc.classes})
			if err != nil {
				t.Fatal(err)
			}
			if d.Stats != tc.want {
				t.Errorf("stats %+v\nwant  %+v", d.Stats, tc.want)
			}
			if len(d.Samples) != tc.samples || d.NumClasses() != tc.ncls {
				t.Errorf("samples %d, classes %d; want %d, %d", len(d.Samples), d.NumClasses(), tc.samples, tc.ncls)
			}
		})
	}
	d, err := NewDataset(ctx, f, "/data", Options{Classes: []string{"dog", "person"}})
	if err != nil {
		t.Fatal(err)
	}
	// Ascending category id order, whatever the filter's order.
	if got := strings.Join(d.ClassNames(), ","); got != "BG,person,dog" {
		t.Errorf("classes %s", got)
	}
	if d.Classes[2].CategoryID != 18 {
		t.Errorf("dog category %d", d.Classes[2].CategoryID)
	}
	if d.Samples[0].Path != filepath.Join("/data", "COCO_val2014_000000001146.jpg") {
		t.Errorf("path %s", d.Samples[0].Path)
	}
}

func TestDatasetClassFilterUnknown(t *testing.T) {
	f, _ := readFixture(t)
	_, err := NewDataset(context.Background(), f, "/data", Options{Classes: []string{"person", "unicorn"}})
	if err == nil || !strings.Contains(err.Error(), `"unicorn"`) || !strings.Contains(err.Error(), "data.classes") {
		t.Errorf("err = %v", err)
	}
}

// Rasterised polygons agree with the annotation's own numbers: the raster
// box lies within a pixel of the COCO bbox and the pixel count is close to
// the polygon area (which COCO computes by formula, not by raster).
func TestMasksFixture(t *testing.T) {
	f, p := readFixture(t)
	d, err := NewDataset(context.Background(), f, filepath.Dir(p), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var sumArea, sumPixels float64
	for si := range d.Samples {
		s := &d.Samples[si]
		masks, ids, err := s.Masks()
		if err != nil {
			t.Fatal(err)
		}
		if len(masks) != len(s.Instances) || len(ids) != len(masks) {
			t.Fatalf("image %d: %d masks for %d instances", s.ImageID, len(masks), len(s.Instances))
		}
		for i, m := range masks {
			in := s.Instances[i]
			if (ids[i] < 0) != in.Crowd || ids[i] == 0 {
				t.Errorf("annotation %d: class id %d, crowd %v", in.AnnotationID, ids[i], in.Crowd)
			}
			px := 0
			x0, y0, x1, y1 := s.Width, s.Height, -1, -1
			for y := 0; y < s.Height; y++ {
				for x := 0; x < s.Width; x++ {
					if m[y*s.Width+x] {
						px++
						x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x), max(y1, y)
					}
				}
			}
			if px != in.Pixels {
				t.Errorf("annotation %d: %d pixels decoded, %d counted", in.AnnotationID, px, in.Pixels)
			}
			if in.Crowd {
				continue
			}
			b := in.BBox
			// Thin spikes may miss every pixel centre, so the raster box
			// only has to lie inside the bbox and cover most of it.
			rb := mask.BBox{float64(x0), float64(y0), float64(x1 - x0 + 1), float64(y1 - y0 + 1)}
			inside := rb[0] >= math.Floor(b[0]) && rb[1] >= math.Floor(b[1]) &&
				rb[0]+rb[2] <= math.Ceil(b[0]+b[2]) && rb[1]+rb[3] <= math.Ceil(b[1]+b[3])
			if iou := mask.BBoxIoU([]mask.BBox{rb}, []mask.BBox{b}, nil)[0][0]; !inside || iou < 0.5 {
				t.Errorf("annotation %d: raster box %v vs bbox %v (IoU %.2f)", in.AnnotationID, rb, b, iou)
			}
			sumArea += in.Area
			sumPixels += float64(px)
		}
	}
	if r := sumPixels / sumArea; r < 0.98 || r > 1.02 {
		t.Errorf("raster pixels / polygon area = %.4f over the fixture", r)
	}
}

func TestDatasetRules(t *testing.T) {
	f := &File{
		Images: []Image{
			{ID: 1, FileName: "a/1.jpg", Width: 4, Height: 3},
			{ID: 2, FileName: "2.jpg", Width: 4, Height: 3}, // crowd only
			{ID: 3, FileName: "3.jpg", Width: 4, Height: 3}, // empty polygon only
			{ID: 4, FileName: "4.jpg", Width: 4, Height: 3}, // no annotations
		},
		Categories: []Category{{ID: 9, Name: "b"}, {ID: 2, Name: "a"}},
		Annotations: []Annotation{
			{ID: 10, ImageID: 1, CategoryID: 9, Segmentation: Segmentation{Kind: Polygons, Polygons: [][]float64{{0, 0, 2, 0, 2, 2, 0, 2}}}},
			// A crowd RLE of another size: becomes all ones.
			{ID: 11, ImageID: 1, CategoryID: 2, IsCrowd: true, Segmentation: Segmentation{Kind: UncompressedRLE, RLE: mask.RLE{H: 2, W: 2, Counts: []uint32{1, 3}}}},
			{ID: 12, ImageID: 2, CategoryID: 2, IsCrowd: true, Segmentation: Segmentation{Kind: UncompressedRLE, RLE: mask.RLE{H: 3, W: 4, Counts: []uint32{1, 11}}}},
			// Thinner than a pixel centre: no pixel.
			{ID: 13, ImageID: 3, CategoryID: 2, Segmentation: Segmentation{Kind: Polygons, Polygons: [][]float64{{0, 0, 0.2, 0, 0.2, 3, 0, 3}}}},
			{ID: 14, ImageID: 1, CategoryID: 2},
		},
	}
	d, err := NewDataset(context.Background(), f, "root", Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{Images: 4, Annotations: 5, SkippedImages: 3, MissingSegmentation: 1, EmptyAnnotations: 1, Instances: 2, CrowdInstances: 1}
	if d.Stats != want {
		t.Errorf("stats %+v\nwant  %+v", d.Stats, want)
	}
	if len(d.Samples) != 1 || d.Samples[0].ImageID != 1 {
		t.Fatalf("samples %+v", d.Samples)
	}
	masks, ids, err := d.Samples[0].Masks()
	if err != nil {
		t.Fatal(err)
	}
	// Category 2 ("a") is class 1, category 9 ("b") class 2.
	if len(ids) != 2 || ids[0] != 2 || ids[1] != -1 {
		t.Errorf("class ids %v, want [2 -1]", ids)
	}
	wantBox := []bool{true, true, false, false, true, true, false, false, false, false, false, false}
	for i := range wantBox {
		if masks[0][i] != wantBox[i] || !masks[1][i] {
			t.Fatalf("masks %v", masks)
		}
	}
	if d.Samples[0].Path != filepath.Join("root", "a", "1.jpg") {
		t.Errorf("path %s", d.Samples[0].Path)
	}
}

func TestDatasetPathEscape(t *testing.T) {
	for _, name := range []string{"../x.jpg", "/etc/passwd", "a/../../x.jpg", ""} {
		f := &File{
			Images:      []Image{{ID: 77, FileName: name, Width: 4, Height: 3}},
			Categories:  []Category{{ID: 1, Name: "a"}},
			Annotations: []Annotation{{ID: 1, ImageID: 77, CategoryID: 1, Segmentation: Segmentation{Kind: Polygons, Polygons: [][]float64{{0, 0, 2, 0, 2, 2}}}}},
		}
		_, err := NewDataset(context.Background(), f, "root", Options{})
		if !errors.Is(err, ErrPath) || !strings.Contains(err.Error(), "image 77") {
			t.Errorf("file_name %q: err = %v", name, err)
		}
	}
}

func TestDatasetWorkersDeterministic(t *testing.T) {
	f, _ := readFixture(t)
	one, err := NewDataset(context.Background(), f, "/data", Options{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	three, err := NewDataset(context.Background(), f, "/data", Options{Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(one, three) {
		t.Error("datasets built with 1 and 3 workers differ")
	}
}
