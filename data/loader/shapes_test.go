package loader

import (
	"context"
	"testing"

	"github.com/graftrain/graftrain/data/anchors"
	"github.com/graftrain/graftrain/data/coco"
	"github.com/graftrain/graftrain/data/image"
	"github.com/graftrain/graftrain/data/rpn"
)

// shapesGeometry is examples/shapes.yaml's model section.
func shapesGeometry() Geometry {
	return Geometry{
		BatchSize: 2, NumClasses: 4,
		Resize:         image.ResizeConfig{MinDim: 128, MaxDim: 128, Mode: image.ModeSquare},
		Anchors:        anchors.Config{Scales: []float64{8, 16, 32, 64, 128}, Ratios: []float64{0.5, 1, 2}, Strides: []int{4, 8, 16, 32, 64}, AnchorStride: 1},
		RPN:            rpn.Config{TrainAnchors: 64, StdDev: [4]float64{0.1, 0.1, 0.2, 0.2}},
		UseMiniMask:    true,
		MiniMask:       [2]int{28, 28},
		MeanPixel:      [3]float64{123.7, 116.8, 103.9},
		MaxGTInstances: 10,
	}
}

func loadShapes(t testing.TB) Dataset {
	t.Helper()
	d, err := coco.Load(context.Background(), "../../examples/shapes/instances_train.json", "../../examples/shapes", coco.Options{})
	if err != nil {
		t.Skipf("sample dataset not readable: %v", err)
	}
	return COCO(d)
}

func TestShapesEpoch(t *testing.T) {
	ds := loadShapes(t)
	g := shapesGeometry()
	l, err := New(context.Background(), ds, Options{Geometry: g, Seed: 7, Shuffle: true, Augment: true, Epochs: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	d := g.Dims()
	images := 0
	for {
		b, st, err := l.Next(context.Background())
		if err != nil {
			break
		}
		if st.BadImages != 0 {
			t.Fatalf("bad images in the sample dataset: %+v", st)
		}
		images += st.Images
		for s := 0; s < st.Images; s++ {
			pos, neg := 0, 0
			for _, m := range b.RPNMatch[s*d.Anchors : (s+1)*d.Anchors] {
				switch m {
				case 1:
					pos++
				case -1:
					neg++
				}
			}
			if pos == 0 || pos > d.RPNTrainAnchors/2 || pos+neg != d.RPNTrainAnchors {
				t.Fatalf("image %d: %d positive, %d negative anchors", b.ImageIDs[s], pos, neg)
			}
			meta := b.ImageMeta[s*d.MetaLength():]
			for k := 0; k < d.MaxGTInstances; k++ {
				if b.GTClassIDs[s*d.MaxGTInstances+k] == 0 {
					continue
				}
				bx := b.GTBoxes[(s*d.MaxGTInstances+k)*4:]
				if bx[0] < meta[7] || bx[1] < meta[8] || bx[2] > meta[9] || bx[3] > meta[10] || bx[0] >= bx[2] || bx[1] >= bx[3] {
					t.Fatalf("image %d: box %v outside window %v", b.ImageIDs[s], bx[:4], meta[7:11])
				}
			}
		}
	}
	if images != ds.Len() {
		t.Fatalf("one epoch gave %d images, dataset has %d", images, ds.Len())
	}
}
