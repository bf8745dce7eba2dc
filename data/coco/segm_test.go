package coco

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"

	"github.com/graftrain/graftrain/internal/fixtures"
)

func TestParsePolygons(t *testing.T) {
	good := []struct {
		in   string
		want [][]float64
	}{
		{"[]", nil},
		{"[[]]", [][]float64{{}}},
		{" [ [1, 2.5,-3e2 ] , [4,5,6]]", [][]float64{{1, 2.5, -300}, {4, 5, 6}}},
		{"[[0.1]]", [][]float64{{0.1}}},
	}
	for _, tc := range good {
		got, err := parsePolygons([]byte(tc.in))
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parsePolygons(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "[", "[[1,,2]]", "[[1 2]]", "[[+1]]", "[[1]]x", "[[NaN]]", "[[inf]]", "[[1e400]]", "[1,2]", "[[1],]", "[[-]]"} {
		if got, err := parsePolygons([]byte(in)); err == nil {
			t.Errorf("parsePolygons(%q) = %v, want an error", in, got)
		}
	}
}

// The direct polygon scan reads every fixture polygon exactly as
// encoding/json does.
func TestParsePolygonsMatchesJSON(t *testing.T) {
	b, err := os.ReadFile(fixtures.Path(t, "coco_val2014_100/instances_val2014_100.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Annotations []struct {
			Segmentation json.RawMessage `json:"segmentation"`
		} `json:"annotations"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	n := 0
	for i, a := range doc.Annotations {
		if a.Segmentation[0] != '[' {
			continue
		}
		var want [][]float64
		if err := json.Unmarshal(a.Segmentation, &want); err != nil {
			t.Fatal(err)
		}
		got, err := parsePolygons(a.Segmentation)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("annotation %d: %v", i, err)
		}
		n++
	}
	if n != 830 {
		t.Errorf("%d polygon segmentations, want 830", n)
	}
}

// FuzzSegmentation feeds arbitrary bytes to the segmentation reader (as
// detection result files reach it): an error or a segmentation that writes
// and reads back the same, never a panic.
func FuzzSegmentation(f *testing.F) {
	for _, s := range []string{
		`[[0,0,4,0,4,3,0,3]]`, `{"counts": [3, 9], "size": [3, 4]}`, `{"counts": "39", "size": [3, 4]}`,
		`[]`, `null`, `{"counts": "VQi31m>0O2N100O1", "size": [478, 640]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var s Segmentation
		if err := s.UnmarshalJSON(b); err != nil {
			return
		}
		out, err := s.MarshalJSON()
		if err != nil {
			t.Fatalf("write: %v", err)
		}
		var back Segmentation
		if err := back.UnmarshalJSON(out); err != nil {
			t.Fatalf("read back %s: %v", out, err)
		}
		if back.Kind != s.Kind || back.RLE.String() != s.RLE.String() || len(back.Polygons) != len(s.Polygons) {
			t.Fatalf("%s read back as %+v", out, back)
		}
	})
}
