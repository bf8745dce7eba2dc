package unmold

import (
	"fmt"
	"math"

	"github.com/graftrain/graftrain/data/batch"
	"github.com/graftrain/graftrain/data/mask"
	"github.com/graftrain/graftrain/eval"
	"github.com/graftrain/graftrain/train"
)

// Meta is what unmolding reads from one input_image_meta row (matterport's
// compose_image_meta: id, original shape, molded shape, window, scale,
// active class ids).
type Meta struct {
	ImageID       int64
	OriginalShape [3]int // height, width, channels of the original image
	ImageShape    [3]int // of the molded image
	Window        [4]int // y1, x1, y2, x2: the image inside the molded one
	Scale         float64
}

// MetaLength is the length of a meta row for numClasses classes.
func MetaLength(numClasses int) int { return 12 + numClasses }

// ParseMeta reads one input_image_meta row.
func ParseMeta(row []float32) (Meta, error) {
	if len(row) < 12 {
		return Meta{}, fmt.Errorf("image meta has %d values, want at least 12", len(row))
	}
	var m Meta
	m.ImageID = int64(row[0])
	for i := range 3 {
		m.OriginalShape[i] = int(row[1+i])
		m.ImageShape[i] = int(row[4+i])
	}
	for i := range 4 {
		m.Window[i] = int(row[7+i])
	}
	m.Scale = float64(row[11])
	if m.OriginalShape[0] <= 0 || m.OriginalShape[1] <= 0 || m.ImageShape[0] <= 1 || m.ImageShape[1] <= 1 {
		return m, fmt.Errorf("image meta of image %d: original shape %v, molded shape %v, want positive sizes", m.ImageID, m.OriginalShape, m.ImageShape)
	}
	if w := m.Window; w[2] <= w[0] || w[3] <= w[1] {
		return m, fmt.Errorf("image meta of image %d: empty window %v", m.ImageID, w)
	}
	return m, nil
}

// Instance is one detection on the original image.
type Instance struct {
	// Box is y1, x1, y2, x2 in original-image pixels (y2, x2 exclusive).
	Box     [4]int
	ClassID int
	Score   float32
	Mask    mask.RLE
}

// Image unmolds one image's predict output: dets is [n, 6] (y1, x1, y2,
// x2 normalised to the molded image, class id, score), masks is [n, mh, mw,
// classes]. Rows from the first with class id 0 are padding. Detections
// whose box has no area on the original image are dropped, as matterport
// does.
func Image(dets, masks []float32, n, mh, mw, classes int, meta Meta) ([]Instance, error) {
	if len(dets) < n*6 || len(masks) < n*mh*mw*classes {
		return nil, fmt.Errorf("predict output too short: %d detection and %d mask values for %d detections of %dx%dx%d masks", len(dets), len(masks), n, mh, mw, classes)
	}
	H, W := meta.OriginalShape[0], meta.OriginalShape[1]
	// The window, normalised to the molded image in float32 as
	// utils.norm_boxes does.
	ih, iw := meta.ImageShape[0], meta.ImageShape[1]
	wy1 := float32(float64(meta.Window[0]) / float64(ih-1))
	wx1 := float32(float64(meta.Window[1]) / float64(iw-1))
	wy2 := float32(float64(meta.Window[2]-1) / float64(ih-1))
	wx2 := float32(float64(meta.Window[3]-1) / float64(iw-1))
	wh, ww := wy2-wy1, wx2-wx1
	var out []Instance
	grid := make([]float64, mh*mw)
	for i := range n {
		d := dets[i*6 : i*6+6]
		cls := int(d[4])
		if cls == 0 {
			break
		}
		if cls < 0 || cls >= classes {
			return nil, fmt.Errorf("detection %d of image %d: class id %d outside 1..%d", i, meta.ImageID, cls, classes-1)
		}
		// Normalised to the window (float32), then to original pixels
		// (float64, rounded half to even like numpy.around).
		ny1, nx1 := float32(d[0]-wy1)/wh, float32(d[1]-wx1)/ww
		ny2, nx2 := float32(d[2]-wy1)/wh, float32(d[3]-wx1)/ww
		box := [4]int{
			int(math.RoundToEven(float64(ny1) * float64(H-1))),
			int(math.RoundToEven(float64(nx1) * float64(W-1))),
			int(math.RoundToEven(float64(ny2)*float64(H-1) + 1)),
			int(math.RoundToEven(float64(nx2)*float64(W-1) + 1)),
		}
		bh, bw := box[2]-box[0], box[3]-box[1]
		if bh <= 0 || bw <= 0 {
			continue
		}
		for y := range mh {
			for x := range mw {
				grid[y*mw+x] = float64(masks[((i*mh+y)*mw+x)*classes+cls])
			}
		}
		r, err := paste(grid, mh, mw, box, H, W)
		if err != nil {
			return nil, fmt.Errorf("detection %d of image %d: %w", i, meta.ImageID, err)
		}
		out = append(out, Instance{Box: box, ClassID: cls, Score: d[5], Mask: r})
	}
	return out, nil
}

// paste resizes the mh×mw grid bilinearly to the box (pixel centres
// aligned, zero beyond the grid's edges, as skimage's resize with order 1
// and mode "constant"), thresholds at 0.5 and run-length encodes the H×W
// image with the box's pixels set where the mask is, clipping the box to
// the image.
func paste(grid []float64, mh, mw int, box [4]int, H, W int) (mask.RLE, error) {
	y1, x1, y2, x2 := box[0], box[1], box[2], box[3]
	bh, bw := y2-y1, x2-x1
	sy, sx := float64(mh)/float64(bh), float64(mw)/float64(bw)
	at := func(y, x int) float64 {
		if y < 0 || y >= mh || x < 0 || x >= mw {
			return 0
		}
		return grid[y*mw+x]
	}
	counts := make([]uint32, 0, 2*bw+2)
	var run uint32 // current run length
	on := false    // value of the current run
	emit := func(v bool, n int) {
		if n == 0 {
			return
		}
		if v != on {
			counts = append(counts, run)
			run, on = 0, v
		}
		run += uint32(n)
	}
	// Column-major, as COCO RLE runs go down each column.
	emit(false, max(0, min(x1, W))*H)
	for x := max(x1, 0); x < min(x2, W); x++ {
		cx := (float64(x-x1)+0.5)*sx - 0.5
		c0 := int(math.Floor(cx))
		fx := cx - float64(c0)
		emit(false, max(0, min(y1, H)))
		for y := max(y1, 0); y < min(y2, H); y++ {
			cy := (float64(y-y1)+0.5)*sy - 0.5
			r0 := int(math.Floor(cy))
			fy := cy - float64(r0)
			v := (1-fy)*((1-fx)*at(r0, c0)+fx*at(r0, c0+1)) + fy*((1-fx)*at(r0+1, c0)+fx*at(r0+1, c0+1))
			emit(v >= 0.5, 1)
		}
		emit(false, H-max(0, min(y2, H)))
	}
	emit(false, (W-max(0, min(x2, W)))*H)
	counts = append(counts, run)
	return mask.FromCounts(counts, H, W)
}

// Batch unmolds every image of a predict call on b.
func Batch(p train.Prediction, b *batch.Batch) ([][]Instance, error) {
	B := b.Size
	ml := b.MetaLength()
	if len(b.ImageMeta) < B*ml {
		return nil, fmt.Errorf("batch has %d meta values for %d images of %d", len(b.ImageMeta), B, ml)
	}
	perDet, perMask := p.N*6, p.N*p.MaskHeight*p.MaskWidth*p.Classes
	if len(p.Detections) < B*perDet || len(p.Masks) < B*perMask {
		return nil, fmt.Errorf("prediction has %d detection and %d mask values, want %d and %d for %d images", len(p.Detections), len(p.Masks), B*perDet, B*perMask, B)
	}
	out := make([][]Instance, B)
	for i := range B {
		meta, err := ParseMeta(b.ImageMeta[i*ml : (i+1)*ml])
		if err != nil {
			return nil, fmt.Errorf("image %d of the batch: %w", i, err)
		}
		if i < len(b.ImageIDs) {
			meta.ImageID = b.ImageIDs[i]
		}
		out[i], err = Image(p.Detections[i*perDet:(i+1)*perDet], p.Masks[i*perMask:(i+1)*perMask], p.N, p.MaskHeight, p.MaskWidth, p.Classes, meta)
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Detections converts one image's instances into COCO results as
// matterport's build_coco_results writes them and pycocotools' loadRes
// reads them back: bbox x, y, w, h from the box, the mask as the
// segmentation, and, because the results carry a bbox, area = w*h for box
// and mask evaluation alike. categoryOf maps a model class id to a COCO
// category id; instances of unmapped classes are skipped. IDs are left 0:
// set them to 1..N over the whole result set before evaluating.
func Detections(imageID int64, insts []Instance, categoryOf func(classID int) (int64, bool)) []eval.Detection {
	out := make([]eval.Detection, 0, len(insts))
	for i := range insts {
		in := &insts[i]
		cat, ok := categoryOf(in.ClassID)
		if !ok {
			continue
		}
		b := in.Box
		bb := [4]float64{float64(b[1]), float64(b[0]), float64(b[3] - b[1]), float64(b[2] - b[0])}
		m := in.Mask
		out = append(out, eval.Detection{
			ImageID: imageID, CategoryID: cat, BBox: bb,
			Score: float64(in.Score), Area: bb[2] * bb[3], Mask: &m,
		})
	}
	return out
}
