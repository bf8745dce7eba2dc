package rpn

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/graftrain/graftrain/data/anchors"
)

// TestGoldenAgainstNumpy compares anchors and targets with
// testdata/golden.py, which follows matterport's numpy code (no
// subsampling, so the targets are fully determined).
func TestGoldenAgainstNumpy(t *testing.T) {
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var g struct {
		Height, Width, Anchors int
		Cases                  []struct {
			Name      string
			ClassIDs  []int32 `json:"class_ids"`
			Boxes     [][4]float64
			Positives int
		}
	}
	if err := json.Unmarshal(read("golden.json"), &g); err != nil {
		t.Fatal(err)
	}
	cfg := anchors.Config{Scales: []float64{8, 16, 32, 64, 128}, Ratios: []float64{0.5, 1, 2}, Strides: []int{4, 8, 16, 32, 64}, AnchorStride: 1}
	set, err := anchors.Generate(cfg, g.Height, g.Width)
	if err != nil {
		t.Fatal(err)
	}
	raw := read("anchors.bin")
	if set.Len() != g.Anchors || len(raw) != 32*g.Anchors {
		t.Fatalf("%d anchors, numpy made %d", set.Len(), g.Anchors)
	}
	for i, b := range set.Boxes {
		for k := range b {
			if want := math.Float64frombits(binary.LittleEndian.Uint64(raw[(4*i+k)*8:])); b[k] != want {
				t.Fatalf("anchor %d coordinate %d = %v, numpy %v", i, k, b[k], want)
			}
		}
	}
	train := 2 * set.Len()
	b, _ := NewBuilder(Config{TrainAnchors: train, StdDev: [4]float64{0.1, 0.1, 0.2, 0.2}})
	match := make([]int32, set.Len())
	bbox := make([]float32, 4*train)
	for _, c := range g.Cases {
		boxes := make([]anchors.Box, len(c.Boxes))
		for i, bx := range c.Boxes {
			boxes[i] = anchors.Box(bx)
		}
		st, err := b.Build(set, c.ClassIDs, boxes, rand.New(rand.NewPCG(1, 1)), match, bbox)
		if err != nil {
			t.Fatal(err)
		}
		if st.Positive != c.Positives {
			t.Errorf("%s: %d positives, numpy %d", c.Name, st.Positive, c.Positives)
		}
		wm := read(c.Name + ".match.bin")
		for i := range match {
			if want := int32(binary.LittleEndian.Uint32(wm[4*i:])); match[i] != want {
				t.Fatalf("%s: anchor %d match %d, numpy %d", c.Name, i, match[i], want)
			}
		}
		wb := read(c.Name + ".bbox.bin")
		for i := 0; i < len(wb)/4; i++ {
			if want := math.Float32frombits(binary.LittleEndian.Uint32(wb[4*i:])); bbox[i] != want {
				t.Fatalf("%s: bbox value %d = %v, numpy %v", c.Name, i, bbox[i], want)
			}
		}
	}
}
