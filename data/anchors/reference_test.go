package anchors_test

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/graftrain/graftrain/data/anchors"
	"github.com/graftrain/graftrain/internal/npytest"
)

// testdata/reference holds matterport's generate_pyramid_anchors and
// norm_boxes computed with numpy by tools/reference/gen.py.
func TestReferenceAnchors(t *testing.T) {
	dir := filepath.Join("testdata", "reference")
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Anchors []struct {
			Name         string    `json:"name"`
			Shape        [2]int    `json:"shape"`
			Scales       []float64 `json:"scales"`
			Ratios       []float64 `json:"ratios"`
			Strides      []int     `json:"strides"`
			AnchorStride int       `json:"anchor_stride"`
			Count        int       `json:"count"`
		} `json:"anchors"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Anchors) == 0 {
		t.Fatal("manifest lists no anchor cases")
	}
	for _, c := range m.Anchors {
		t.Run(c.Name, func(t *testing.T) {
			cfg := anchors.Config{Scales: c.Scales, Ratios: c.Ratios, Strides: c.Strides, AnchorStride: c.AnchorStride}
			set, err := anchors.Generate(cfg, c.Shape[0], c.Shape[1])
			if err != nil {
				t.Fatal(err)
			}
			want := npytest.Load(t, filepath.Join(dir, c.Name+".anchors.npy")).Float64(t)
			if set.Len() != c.Count || len(want) != 4*c.Count {
				t.Fatalf("%d anchors, want %d", set.Len(), c.Count)
			}
			if n := anchors.Count(cfg, c.Shape[0], c.Shape[1]); n != c.Count {
				t.Errorf("Count = %d, want %d", n, c.Count)
			}
			for i, box := range set.Boxes {
				for k := range 4 {
					if math.Float64bits(box[k]) != math.Float64bits(want[4*i+k]) {
						t.Fatalf("anchor %d coordinate %d: got %v, want %v (numpy float64)", i, k, box[k], want[4*i+k])
					}
				}
			}
			norm := set.Normalized()
			wantNorm := npytest.Load(t, filepath.Join(dir, c.Name+".norm.npy")).Float32(t)
			if len(norm) != len(wantNorm) {
				t.Fatalf("norm_boxes length %d, want %d", len(norm), len(wantNorm))
			}
			for i := range norm {
				if math.Float32bits(norm[i]) != math.Float32bits(wantNorm[i]) {
					t.Fatalf("norm_boxes [%d]: got %v, want %v", i, norm[i], wantNorm[i])
				}
			}
		})
	}
}
