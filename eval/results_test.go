package eval

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/graftrain/graftrain/data/mask"
	"github.com/graftrain/graftrain/internal/fixtures"
)

func smallGT() *GroundTruth {
	return &GroundTruth{
		Images:     []Image{{ID: 1, Height: 4, Width: 4}, {ID: 2, Height: 10, Width: 20}},
		Categories: []Category{{1, "a"}},
	}
}

func TestParseResultsBoxes(t *testing.T) {
	d, err := ParseResults([]byte(`[
 {"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4.5], "score": 0.25, "id": 77},
 {"image_id": 2.0, "category_id": 9, "bbox": [0, 0, 2, 2], "score": 1e-3, "segmentation": [[0,0,0,1,1,1]]}]`), smallGT())
	if err != nil {
		t.Fatal(err)
	}
	want := []Detection{
		{ID: 1, ImageID: 1, CategoryID: 1, BBox: [4]float64{1, 2, 3, 4.5}, Score: 0.25, Area: 13.5},
		{ID: 2, ImageID: 2, CategoryID: 9, BBox: [4]float64{0, 0, 2, 2}, Score: 1e-3, Area: 4},
	}
	for i := range want {
		g := d[i]
		g.Segmentation = nil
		if !reflect.DeepEqual(g, want[i]) {
			t.Errorf("detection %d = %+v, want %+v", i, g, want[i])
		}
	}
	if d[1].Segmentation == nil {
		t.Error("a box result's segmentation was dropped; loadRes keeps it")
	}
}

func TestParseResultsMasks(t *testing.T) {
	// A 4×4 mask whose column 1 rows 1-2 and column 2 rows 1-2 are set:
	// column-major runs 5 zeros, 2 ones, 2 zeros, 2 ones, 5 zeros.
	r, err := mask.FromCounts([]uint32{5, 2, 2, 2, 5}, 4, 4)
	if err != nil {
		t.Fatal(err)
	}
	doc := `[{"image_id": 1, "category_id": 1, "score": 0.5, "segmentation": {"size": [4, 4], "counts": "` + r.String() + `"}},
	{"image_id": 1, "category_id": 1, "score": 0.5, "bbox": [9, 9, 9, 9], "segmentation": {"size": [4, 4], "counts": [5, 2, 2, 2, 5]}}]`
	d, err := ParseResults([]byte(doc), smallGT())
	if err != nil {
		t.Fatal(err)
	}
	if d[0].Area != 4 || d[0].BBox != [4]float64{1, 1, 2, 2} {
		t.Errorf("mask result: area %v bbox %v, want 4 and [1 1 2 2] from the mask", d[0].Area, d[0].BBox)
	}
	if d[1].Area != 4 || d[1].BBox != [4]float64{9, 9, 9, 9} {
		t.Errorf("mask result with a bbox: area %v bbox %v, want the mask's area and the given box", d[1].Area, d[1].BBox)
	}
}

func TestParseResultsErrors(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      []string
		is        error
	}{
		{"not an array", `{"image_id": 1}`, []string{"line 1, column 1", "want a JSON array"}, nil},
		{"unknown image", "[\n{\"image_id\": 3, \"category_id\": 1, \"bbox\": [0,0,1,1], \"score\": 1}]", []string{"detection 0 (line 2, column 1)", "image_id is not an image of the ground truth: 3"}, ErrUnknownImage},
		{"NaN score", "[{\"image_id\": 1, \"category_id\": 1, \"bbox\": [0,0,1,1], \"score\": NaN}]", []string{"detection 0 (line 1, column 64)", "invalid character 'N'"}, nil},
		{"string score", `[{"image_id": 1, "category_id": 1, "bbox": [0,0,1,1], "score": "0.5"}]`, []string{`score: "0.5" is not a number`}, nil},
		{"missing score", `[{"image_id": 1, "category_id": 1, "bbox": [0,0,1,1]}]`, []string{"score: missing"}, nil},
		{"string image id", `[{"image_id": "1", "category_id": 1, "bbox": [0,0,1,1], "score": 1}]`, []string{`image_id: "1" is a string`}, nil},
		{"fractional category", `[{"image_id": 1, "category_id": 1.5, "bbox": [0,0,1,1], "score": 1}]`, []string{"category_id: 1.5 is not an integer"}, nil},
		{"short bbox", `[{"image_id": 1, "category_id": 1, "bbox": [0,0,1], "score": 1}]`, []string{"bbox: has 3 numbers"}, nil},
		{"neither", `[{"image_id": 1, "category_id": 1, "score": 1}]`, []string{"neither bbox nor segmentation"}, nil},
		{"malformed RLE", `[{"image_id": 1, "category_id": 1, "score": 1, "segmentation": {"size": [4, 4], "counts": "~~"}}]`, []string{"segmentation:", "malformed compressed RLE"}, mask.ErrSyntax},
		{"RLE too short", `[{"image_id": 1, "category_id": 1, "score": 1, "segmentation": {"size": [4, 4], "counts": [5, 2]}}]`, []string{"run lengths sum to 7, want 4×4 = 16"}, mask.ErrSize},
		{"RLE without size", `[{"image_id": 1, "category_id": 1, "score": 1, "segmentation": {"counts": "02"}}]`, []string{"RLE size has 0 numbers"}, nil},
		{"mask missing later", `[{"image_id": 1, "category_id": 1, "score": 1, "segmentation": [[0,0,1,0,1,1]]}, {"image_id": 1, "category_id": 1, "score": 1}]`, []string{"detection 1", "no segmentation"}, nil},
		{"truncated", `[{"image_id": 1, "category_id": 1, "bbox": [0,0,1,1], "score": 1}`, []string{"results array"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseResults([]byte(tc.doc), smallGT())
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %q does not wrap %v", err, tc.is)
			}
		})
	}
}

func TestParseResultsReportsSeveral(t *testing.T) {
	var b strings.Builder
	b.WriteString("[")
	for i := range 15 {
		if i > 0 {
			b.WriteString(",\n")
		}
		b.WriteString(`{"image_id": 5, "category_id": 1, "bbox": [0,0,1,1], "score": 1}`)
	}
	b.WriteString("]")
	_, err := ParseResults([]byte(b.String()), smallGT())
	if err == nil || strings.Count(err.Error(), "image_id is not") != maxReported || !strings.Contains(err.Error(), "and 5 more bad detections") {
		t.Errorf("error = %v, want %d located errors and a count of the rest", err, maxReported)
	}
}

// FuzzParseResults checks that no results file makes the reader panic and
// that whatever it accepts satisfies loadRes' invariants.
func FuzzParseResults(f *testing.F) {
	// The first detections of the real result files (whole files make the
	// fuzzer crawl).
	for _, name := range []string{"fakebbox100.json", "fakesegm100.json"} {
		b, err := os.ReadFile(filepath.Join(fixtureDir(f), name))
		if err != nil {
			continue
		}
		var all []json.RawMessage
		if json.Unmarshal(b, &all) == nil && len(all) > 4 {
			b, _ = json.Marshal(all[:4])
			f.Add(b)
		}
	}
	f.Add([]byte(`[{"image_id": 1, "category_id": 1, "score": 0.5, "segmentation": {"size": [4, 4], "counts": "52203"}}]`))
	f.Add([]byte(`[{"image_id": 2, "category_id": 1, "score": 0.5, "segmentation": [[0, 0, 5, 0, 5, 5]]}]`))
	f.Add([]byte(`[{"image_id": 1, "category_id": 1, "score": 0.5, "bbox": [0, 0, 1, 1]}]`))
	gt := fuzzGT(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseResults(b, gt)
		byImage := map[int64]Image{}
		for _, im := range gt.Images {
			byImage[im.ID] = im
		}
		slow, slowErr := parseResultsLocated(b, byImage)
		if (err == nil) != (slowErr == nil) || (err == nil && !reflect.DeepEqual(d, slow)) {
			t.Fatalf("fast and located readers disagree: %v / %v", err, slowErr)
		}
		if err != nil {
			return
		}
		images := map[int64]bool{}
		for _, im := range gt.Images {
			images[im.ID] = true
		}
		for i, x := range d {
			if x.ID != int64(i+1) || !images[x.ImageID] || math.IsNaN(x.Score) || math.IsInf(x.Score, 0) {
				t.Fatalf("accepted detection %d breaks loadRes' invariants: %+v", i, x)
			}
		}
	})
}

// FuzzSegmentation checks that no segmentation JSON makes decoding panic.
func FuzzSegmentation(f *testing.F) {
	f.Add([]byte(`{"size": [4, 4], "counts": "52203"}`))
	f.Add([]byte(`{"size": [4, 4], "counts": [5, 2, 2, 2, 5]}`))
	f.Add([]byte(`[[0, 0, 3.5, 0, 3.5, 3.5], [1, 1, 2, 1, 2, 2]]`))
	f.Add([]byte(`{"size": [480, 640], "counts": "VQi31m>0O2N100O100O2N100O10001N101O1N2O1O2M2O1O1N3N1O1N"}`))
	f.Add([]byte(`{ "counts" : "0\\2" , "size":[2,1]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		// The quick RLE scanner must agree with encoding/json.
		if h, w, counts, ok := scanRLE(b); ok {
			var r struct {
				Size   []int  `json:"size"`
				Counts string `json:"counts"`
			}
			if err := json.Unmarshal(b, &r); err != nil || len(r.Size) != 2 || r.Size[0] != h || r.Size[1] != w || r.Counts != counts {
				t.Fatalf("scanRLE(%s) = %d, %d, %q; encoding/json: %+v, %v", b, h, w, counts, r, err)
			}
		}
		m, err := decodeSegmentation(b, Image{ID: 1, Height: 8, Width: 6})
		if err != nil {
			return
		}
		if m.Area() > m.H*m.W {
			t.Fatalf("area %d exceeds %d×%d", m.Area(), m.H, m.W)
		}
	})
}

func fixtureDir(tb testing.TB) string {
	dir, ok := fixtures.Dir()
	if !ok {
		return ""
	}
	return filepath.Join(dir, "coco_val2014_100")
}

// fuzzGT is the fixture's ground truth when present, else a small one, so
// that the real result files are valid seeds.
func fuzzGT(tb testing.TB) *GroundTruth {
	gt, err := LoadGroundTruth(context.Background(), filepath.Join(fixtureDir(tb), "instances_val2014_100.json"))
	if err != nil {
		return smallGT()
	}
	gt.Images = append(gt.Images, smallGT().Images...)
	return gt
}
