package coco

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/graftrain/graftrain/internal/fixtures"
)

func readFixture(t testing.TB) (*File, string) {
	t.Helper()
	p := fixtures.Path(t, "coco_val2014_100/instances_val2014_100.json")
	f, err := ReadFile(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return f, p
}

func TestReadFixture(t *testing.T) {
	f, _ := readFixture(t)
	if len(f.Images) != 100 || len(f.Categories) != 80 || len(f.Annotations) != 839 {
		t.Fatalf("images %d, categories %d, annotations %d; want 100, 80, 839",
			len(f.Images), len(f.Categories), len(f.Annotations))
	}
	kinds := map[SegmentationKind]int{}
	crowd := 0
	for _, a := range f.Annotations {
		kinds[a.Segmentation.Kind]++
		if a.IsCrowd {
			crowd++
			if a.Segmentation.Kind != UncompressedRLE {
				t.Errorf("crowd annotation %d is %v", a.ID, a.Segmentation.Kind)
			}
		}
	}
	if kinds[Polygons] != 830 || kinds[UncompressedRLE] != 9 || crowd != 9 {
		t.Errorf("kinds %v, crowd %d; want 830 polygons, 9 uncompressed RLE, 9 crowd", kinds, crowd)
	}
	// Values of the file's first image entry.
	im := f.Images[0]
	if im.ID != 1146 || im.FileName != "COCO_val2014_000000001146.jpg" || im.Width != 427 || im.Height != 640 {
		t.Errorf("first image %+v", im)
	}
}

// Writing a read file and reading it back gives the same content.
func TestWriteRoundTrip(t *testing.T) {
	f, _ := readFixture(t)
	var buf bytes.Buffer
	if err := Write(&buf, f); err != nil {
		t.Fatal(err)
	}
	g, err := Read(context.Background(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Annotations) != len(f.Annotations) {
		t.Fatal("annotation count changed")
	}
	for i := range f.Annotations {
		a, b := f.Annotations[i], g.Annotations[i]
		if a.ID != b.ID || a.IsCrowd != b.IsCrowd || a.BBox != b.BBox || a.Area != b.Area ||
			a.Segmentation.Kind != b.Segmentation.Kind || len(a.Segmentation.Polygons) != len(b.Segmentation.Polygons) ||
			a.Segmentation.RLE.String() != b.Segmentation.RLE.String() {
			t.Fatalf("annotation %d differs after a write and read", a.ID)
		}
	}
}

const minimal = `{"images": [{"id": 1, "file_name": "a.jpg", "width": 4, "height": 3}],
"annotations": [%s],
"categories": [{"id": 7, "name": "cat"}]}`

func doc(anns string) string { return strings.Replace(minimal, "%s", anns, 1) }

func TestReadErrors(t *testing.T) {
	tests := []struct {
		name, doc string
		want      error
		line      int
		msg       string
	}{
		{"truncated", `{"images": [{"id": 1`, ErrSyntax, 1, "end of file"},
		{"bad token", "{\"images\": [\n  {\"id\": 1,, }]}", ErrSyntax, 2, "invalid"},
		{"not an object", `[1, 2]`, ErrSyntax, 1, "not a JSON object"},
		{"duplicate image", `{"images": [{"id": 1, "file_name": "a", "width": 1, "height": 1},
 {"id": 1, "file_name": "b", "width": 1, "height": 1}], "annotations": [], "categories": []}`, ErrDuplicateID, 2, "images[1]"},
		{"unknown category", doc(`{"id": 5, "image_id": 1, "category_id": 9, "segmentation": [[0,0,1,0,1,1]]}`), ErrUnknownCategory, 2, "id 5"},
		{"unknown image", doc(`{"id": 5, "image_id": 2, "category_id": 7, "segmentation": [[0,0,1,0,1,1]]}`), ErrUnknownImage, 2, "image_id 2"},
		{"odd polygon", doc(`{"id": 5, "image_id": 1, "category_id": 7, "segmentation": [[0,0,1,0,1]]}`), ErrPolygon, 2, "odd number"},
		{"two points", doc(`{"id": 5, "image_id": 1, "category_id": 7, "segmentation": [[0,0,1,0]]}`), ErrPolygon, 2, "2 points"},
		{"bad RLE sum", doc(`{"id": 5, "image_id": 1, "category_id": 7, "iscrowd": 1, "segmentation": {"counts": [1, 2], "size": [3, 4]}}`), ErrRLE, 2, "sum to 3"},
		{"bad RLE string", doc(`{"id": 5, "image_id": 1, "category_id": 7, "segmentation": {"counts": "a b", "size": [3, 4]}}`), ErrRLE, 2, "outside"},
		{"bad iscrowd", doc(`{"id": 5, "image_id": 1, "category_id": 7, "iscrowd": 2, "segmentation": [[0,0,1,0,1,1]]}`), ErrSyntax, 2, "iscrowd"},
		{"wrong type", doc(`{"id": "x", "image_id": 1, "category_id": 7}`), ErrSyntax, 2, "whole number"},
		{"fractional id", doc(`{"id": 5.5, "image_id": 1, "category_id": 7}`), ErrSyntax, 2, "whole number"},
		{"wrong field type", doc(`{"id": 5, "image_id": 1, "category_id": 7, "area": "big"}`), ErrSyntax, 2, `field "area"`},
		{"missing key", `{"images": [], "categories": []}`, ErrSyntax, 0, `no "annotations"`},
		{"bad size", `{"images": [{"id": 1, "file_name": "a", "width": 0, "height": 1}], "annotations": [], "categories": []}`, ErrImage, 1, "must be positive"},
	}
	dir := t.TempDir()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, "ann.json")
			if err := os.WriteFile(p, []byte(tc.doc), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ReadFile(context.Background(), p)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err %q does not mention %q", err, tc.msg)
			}
			var le *Error
			if !errors.As(err, &le) {
				t.Fatalf("err %v is not located", err)
			}
			if le.Line != tc.line {
				t.Errorf("line %d, want %d (%v)", le.Line, tc.line, err)
			}
			if tc.line > 0 && !strings.HasPrefix(err.Error(), p+":") {
				t.Errorf("err %q does not start with the file name", err)
			}
		})
	}
}

// Python-made files sometimes write integers as floats; pycocotools
// accepts them, and so does Read.
func TestReadWholeFloats(t *testing.T) {
	f, err := Read(context.Background(), strings.NewReader(`{"images": [{"id": 1.0, "file_name": "a.jpg", "width": 4e0, "height": 3.0}],
"annotations": [{"id": 5.0, "image_id": 1, "category_id": 7.0, "iscrowd": 0.0, "segmentation": [[0,0,4,0,4,3]]}],
"categories": [{"id": 7, "name": "cat"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if im := f.Images[0]; im.ID != 1 || im.Width != 4 || im.Height != 3 {
		t.Errorf("image %+v", im)
	}
	if a := f.Annotations[0]; a.ID != 5 || a.CategoryID != 7 || a.IsCrowd {
		t.Errorf("annotation %+v", a)
	}
}

func TestReadCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Read(ctx, strings.NewReader(doc("")))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestSegmentationForms(t *testing.T) {
	f, err := Read(context.Background(), strings.NewReader(doc(`
{"id": 1, "image_id": 1, "category_id": 7, "segmentation": [[0,0,4,0,4,3,0,3]]},
{"id": 2, "image_id": 1, "category_id": 7, "iscrowd": 1, "segmentation": {"counts": [3, 9], "size": [3, 4]}},
{"id": 3, "image_id": 1, "category_id": 7, "segmentation": {"counts": "39", "size": [3, 4]}},
{"id": 4, "image_id": 1, "category_id": 7, "segmentation": []}`)))
	if err != nil {
		t.Fatal(err)
	}
	want := []SegmentationKind{Polygons, UncompressedRLE, CompressedRLE, NoSegmentation}
	for i, a := range f.Annotations {
		if a.Segmentation.Kind != want[i] {
			t.Errorf("annotation %d kind %v, want %v", a.ID, a.Segmentation.Kind, want[i])
		}
	}
	// The polygon covers the whole 3×4 image; the RLEs cover the last 3
	// columns.
	for i, area := range []int{12, 9, 9} {
		r, err := f.Annotations[i].Segmentation.ToRLE(3, 4)
		if err != nil {
			t.Fatal(err)
		}
		if r.Area() != area {
			t.Errorf("annotation %d area %d, want %d", i+1, r.Area(), area)
		}
	}
	if !f.Annotations[1].IsCrowd || f.Annotations[0].IsCrowd {
		t.Error("iscrowd not read")
	}
}

// FuzzRead feeds arbitrary documents to the reader: an error or a file,
// never a panic.
func FuzzRead(f *testing.F) {
	p := fixtures.Path(f, "coco_val2014_100/instances_val2014_100.json")
	b, err := os.ReadFile(p)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(doc(`{"id": 2, "image_id": 1, "category_id": 7, "iscrowd": 1, "segmentation": {"counts": [3, 9], "size": [3, 4]}}`)))
	f.Add([]byte(doc(`{"id": 3, "image_id": 1, "category_id": 7, "segmentation": {"counts": "39", "size": [3, 4]}}`)))
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := Read(context.Background(), bytes.NewReader(b))
		if err != nil {
			return
		}
		// What the reader accepts, the dataset builder must handle.
		_, _ = NewDataset(context.Background(), file, t.TempDir(), Options{})
	})
}
