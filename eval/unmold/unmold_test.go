package unmold

import (
	"context"
	"math"
	"testing"

	"github.com/graftrain/graftrain/data/batch"
	"github.com/graftrain/graftrain/data/coco"
	"github.com/graftrain/graftrain/data/mask"
	"github.com/graftrain/graftrain/eval"
	"github.com/graftrain/graftrain/train"
)

// A 100×200 image molded into 256×256: scale 1.28, rows padded by 64 above.
var meta = Meta{ImageID: 7, OriginalShape: [3]int{100, 200, 3}, ImageShape: [3]int{256, 256, 3}, Window: [4]int{64, 0, 192, 256}, Scale: 1.28}

func metaRow(m Meta, classes int) []float32 {
	row := []float32{float32(m.ImageID)}
	for _, v := range m.OriginalShape {
		row = append(row, float32(v))
	}
	for _, v := range m.ImageShape {
		row = append(row, float32(v))
	}
	for _, v := range m.Window {
		row = append(row, float32(v))
	}
	row = append(row, float32(m.Scale))
	return append(row, make([]float32, classes)...)
}

// molded returns the predict output coordinates of an original-image box
// (y1, x1, y2, x2 exclusive): matterport's normalisation to the window,
// then the window's place in the molded image.
func molded(b [4]int) []float32 {
	H, W := float64(meta.OriginalShape[0]), float64(meta.OriginalShape[1])
	n := []float64{float64(b[0]) / (H - 1), float64(b[1]) / (W - 1), float64(b[2]-1) / (H - 1), float64(b[3]-1) / (W - 1)}
	ih, iw := float64(meta.ImageShape[0]-1), float64(meta.ImageShape[1]-1)
	wy1, wx1 := float64(meta.Window[0])/ih, float64(meta.Window[1])/iw
	wy2, wx2 := float64(meta.Window[2]-1)/ih, float64(meta.Window[3]-1)/iw
	return []float32{
		float32(wy1 + n[0]*(wy2-wy1)), float32(wx1 + n[1]*(wx2-wx1)),
		float32(wy1 + n[2]*(wy2-wy1)), float32(wx1 + n[3]*(wx2-wx1)),
	}
}

func TestParseMeta(t *testing.T) {
	got, err := ParseMeta(metaRow(meta, 81))
	want := meta
	want.Scale = float64(float32(meta.Scale)) // the meta row is float32
	if err != nil || got != want {
		t.Fatalf("ParseMeta = %+v, %v; want %+v", got, err, want)
	}
	if _, err := ParseMeta(make([]float32, 5)); err == nil {
		t.Error("short meta row accepted")
	}
	bad := meta
	bad.Window = [4]int{64, 0, 64, 256}
	if _, err := ParseMeta(metaRow(bad, 2)); err == nil {
		t.Error("empty window accepted")
	}
}

const mh, mw, classes = 28, 28, 3

// prediction builds a predict output for boxes (class i+1, score .9-.1i)
// whose class masks are set by fill, plus one padding row.
func prediction(boxes [][4]int, fill func(y, x int) float32) (dets, masks []float32, n int) {
	n = len(boxes) + 1
	dets = make([]float32, n*6)
	masks = make([]float32, n*mh*mw*classes)
	for i, b := range boxes {
		copy(dets[i*6:], molded(b))
		dets[i*6+4] = float32(i%(classes-1) + 1)
		dets[i*6+5] = 0.9 - 0.1*float32(i)
		for y := range mh {
			for x := range mw {
				masks[((i*mh+y)*mw+x)*classes+i%(classes-1)+1] = fill(y, x)
			}
		}
	}
	return dets, masks, n
}

func TestImageBoxesAndFullMasks(t *testing.T) {
	boxes := [][4]int{{10, 20, 50, 80}, {90, 195, 95, 199}}
	dets, masks, n := prediction(boxes, func(int, int) float32 { return 1 })
	got, err := Image(dets, masks, n, mh, mw, classes, meta)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(boxes) {
		t.Fatalf("%d instances, want %d (padding row must end the list)", len(got), len(boxes))
	}
	for i, in := range got {
		b := boxes[i]
		if in.Box != b {
			t.Errorf("instance %d box %v, want %v", i, in.Box, b)
		}
		// A mask of ones covers its whole box (edge pixels interpolate with
		// the zero border at weight < 1/2).
		area := (b[2] - b[0]) * (b[3] - b[1])
		bb := in.Mask.ToBBox()
		want := mask.BBox{float64(b[1]), float64(b[0]), float64(b[3] - b[1]), float64(b[2] - b[0])}
		if in.Mask.Area() != area || bb != want || in.Mask.H != 100 || in.Mask.W != 200 {
			t.Errorf("instance %d mask area %d bbox %v size %dx%d, want %d %v 100x200", i, in.Mask.Area(), bb, in.Mask.H, in.Mask.W, area, want)
		}
	}
}

// An upscaled mask of ones loses its corners: beyond the grid the value is
// 0, so the corner pixel of a 100×200 box gets (1-0.36)·(1-0.43) < 1/2.
// Top-left: rows 0 and 1 have weights 0.64 and 0.92, columns 0, 1, 2 have
// 0.57, 0.71, 0.85; the products below 1/2 are (0,0) and (0,1), and the
// same at each corner.
func TestImageUpscaledCorners(t *testing.T) {
	dets, masks, n := prediction([][4]int{{0, 0, 100, 200}}, func(int, int) float32 { return 1 })
	got, err := Image(dets, masks, n, mh, mw, classes, meta)
	if err != nil || len(got) != 1 {
		t.Fatalf("Image: %v, %d instances", err, len(got))
	}
	if a := got[0].Mask.Area(); a != 20000-8 {
		t.Errorf("area %d, want %d", a, 20000-8)
	}
	pix, _ := mask.Decode(got[0].Mask)
	for _, c := range []struct {
		y, x int
		on   bool
	}{{0, 0, false}, {0, 1, false}, {0, 2, true}, {1, 0, true}, {99, 199, false}, {99, 198, false}, {98, 199, true}} {
		if pix[c.y*200+c.x] != c.on {
			t.Errorf("pixel (%d, %d) = %v, want %v", c.y, c.x, !c.on, c.on)
		}
	}
}

func TestImageMaskPixels(t *testing.T) {
	// A 28×28 box takes the mask grid pixel for pixel: left half set.
	box := [4]int{30, 40, 58, 68}
	dets, masks, n := prediction([][4]int{box}, func(y, x int) float32 {
		if x < 14 {
			return 0.75
		}
		return 0.25
	})
	got, err := Image(dets, masks, n, mh, mw, classes, meta)
	if err != nil || len(got) != 1 {
		t.Fatalf("Image: %v, %d instances", err, len(got))
	}
	pix, err := mask.Decode(got[0].Mask)
	if err != nil {
		t.Fatal(err)
	}
	for y := range 100 {
		for x := range 200 {
			want := y >= 30 && y < 58 && x >= 40 && x < 54
			if pix[y*200+x] != want {
				t.Fatalf("pixel (%d, %d) = %v, want %v", y, x, pix[y*200+x], want)
			}
		}
	}
}

func TestImageDropsEmptyBoxes(t *testing.T) {
	dets, masks, n := prediction([][4]int{{10, 20, 50, 80}}, func(int, int) float32 { return 1 })
	dets[2] = dets[0] - 0.05 // y2 above y1: no height
	got, err := Image(dets, masks, n, mh, mw, classes, meta)
	if err != nil || len(got) != 0 {
		t.Errorf("Image = %v, %v; want no instances", got, err)
	}
	dets[4] = 9
	if _, err := Image(dets, masks, n, mh, mw, classes, meta); err == nil {
		t.Error("class id beyond the mask classes accepted")
	}
}

func TestBatchAndEvaluate(t *testing.T) {
	boxes := [][4]int{{10, 20, 50, 80}, {60, 100, 90, 190}}
	dets, masks, n := prediction(boxes, func(int, int) float32 { return 1 })
	b := batch.New(batch.Dims{Size: 2, NumClasses: classes})
	m2 := meta
	copy(b.ImageMeta, metaRow(meta, classes))
	copy(b.ImageMeta[b.MetaLength():], metaRow(m2, classes))
	b.ImageIDs = []int64{7, 8}
	p := train.Prediction{
		Detections: append(append([]float32{}, dets...), dets...),
		Masks:      append(append([]float32{}, masks...), masks...),
		N:          n, MaskHeight: mh, MaskWidth: mw, Classes: classes,
	}
	insts, err := Batch(p, b)
	if err != nil {
		t.Fatal(err)
	}
	// Ground truth equal to the predicted boxes and masks: perfect AP.
	gt := &eval.GroundTruth{Categories: []eval.Category{{ID: 11, Name: "a"}, {ID: 12, Name: "b"}}}
	var dt []eval.Detection
	for i, id := range b.ImageIDs {
		gt.Images = append(gt.Images, eval.Image{ID: id, Height: 100, Width: 200})
		for j, in := range insts[i] {
			gt.Annotations = append(gt.Annotations, eval.Object{
				ID: int64(len(gt.Annotations) + 1), ImageID: id, CategoryID: int64(10 + in.ClassID),
				BBox: [4]float64{float64(boxes[j][1]), float64(boxes[j][0]), float64(boxes[j][3] - boxes[j][1]), float64(boxes[j][2] - boxes[j][0])},
				Area: float64(in.Mask.Area()), Segmentation: coco.Segmentation{Kind: coco.CompressedRLE, RLE: in.Mask},
			})
		}
		dt = append(dt, Detections(id, insts[i], func(c int) (int64, bool) { return int64(10 + c), true })...)
	}
	for i := range dt {
		dt[i].ID = int64(i + 1)
	}
	if dt[1].BBox != [4]float64{100, 60, 90, 30} || dt[1].Area != 90*30 {
		t.Errorf("detection bbox %v area %v, want [100 60 90 30] and 2700", dt[1].BBox, dt[1].Area)
	}
	for _, typ := range []eval.IoUType{eval.BBox, eval.Segm} {
		e, err := eval.Evaluate(context.Background(), gt, dt, eval.DefaultParams(typ), eval.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if ap := e.Stats()[0]; math.Abs(ap-1) > 1e-12 {
			t.Errorf("%s AP of predictions equal to the ground truth = %v, want 1", typ, ap)
		}
	}
}

func TestCollector(t *testing.T) {
	boxes := [][4]int{{10, 20, 50, 80}, {60, 100, 90, 190}}
	dets, masks, n := prediction(boxes, func(int, int) float32 { return 1 })
	b := batch.New(batch.Dims{Size: 2, NumClasses: classes})
	copy(b.ImageMeta, metaRow(meta, classes))
	copy(b.ImageMeta[b.MetaLength():], metaRow(meta, classes))
	b.ImageIDs = []int64{7, 8}
	p := train.Prediction{
		Detections: append(append([]float32{}, dets...), dets...),
		Masks:      append(append([]float32{}, masks...), masks...),
		N:          n, MaskHeight: mh, MaskWidth: mw, Classes: classes,
	}
	// Class 1 is category 40; class 2 is not mapped.
	c := Collector{CategoryOf: ClassCategories([]int64{0, 40})}
	if err := c.Add(p, b, 1); err != nil {
		t.Fatal(err)
	}
	if err := c.Add(p, b, 2); err != nil {
		t.Fatal(err)
	}
	got := c.Detections()
	// Each image has one class-1 and one class-2 detection: 1 + 2 images kept.
	if len(got) != 3 {
		t.Fatalf("%d detections, want 3", len(got))
	}
	for i, d := range got {
		if d.ID != int64(i+1) || d.CategoryID != 40 || d.Mask == nil {
			t.Errorf("detection %d = id %d category %d mask %v", i, d.ID, d.CategoryID, d.Mask != nil)
		}
	}
	if got[0].ImageID != 7 || got[1].ImageID != 7 || got[2].ImageID != 8 {
		t.Errorf("image ids %d %d %d, want 7 7 8", got[0].ImageID, got[1].ImageID, got[2].ImageID)
	}
	if err := c.Add(p, b, 3); err == nil {
		t.Error("keeping more images than the batch holds accepted")
	}
	c.Reset()
	if len(c.Detections()) != 0 {
		t.Error("Reset left detections")
	}
}
