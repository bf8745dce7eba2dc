package standin

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/graftrain/graftrain/data/batch"
	"github.com/graftrain/graftrain/train"
)

// PredictMaskSize is the side of the stand-in's mask grid. matterport's
// mask head gives 28×28; the stand-in's masks are its inputs' masks
// resampled, which 14 cells carry well enough for a rehearsal.
const PredictMaskSize = 14

// Predict is a rehearsal of the predict signature, not a detector: the
// stand-in has no detection head and reads the answers from the batch
// itself. Every ground-truth instance of b (crowds excepted) comes back as
// a detection of its own class, degraded by how far the model's head
// residuals r₂ (mrcnn_class), r₃ (mrcnn_bbox) and r₄ (mrcnn_mask) are from
// zero, the quantities training drives down. With e = tanh(|r|/2):
//
//   - the box moves and stretches by up to 0.3·e₃ of its size,
//   - the mask is the instance's mask moved inside the box by up to 0.3·e₄
//     of the box,
//   - the score is σ(4(0.75 − e₂) + u),
//
// and each image gets one false positive, a quarter of the image in size,
// of a drawn class and place, scored σ(4(e₂ − 0.75) + u). The jitters u
// and directions are fixed by the image id and instance index, so a
// prediction depends only on the batch and the weights: the same
// checkpoint always scores the same AP, and AP rises as the heads fit.
// Detections are sorted by score, best first, and padded with class-0 rows
// to N = MAX_GT_INSTANCES + 1; masks are PredictMaskSize² per class.
// anchors, when given, must hold the batch's A anchors (the stand-in does
// not read them otherwise).
func (m *Model) Predict(ctx context.Context, b *batch.Batch, anchors []float32) (train.Prediction, error) {
	if err := predictable(b, anchors); err != nil {
		return train.Prediction{}, fmt.Errorf("stand-in predict: %w", err)
	}
	r := m.residuals(b)
	return predictWith(b, degradation{Class: degrade(r[2]), Box: degrade(r[3]), Mask: degrade(r[4])}), nil
}

// degradation says how far each head of the stand-in is from right, each
// in [0, 1): 0 reproduces the ground truth.
type degradation struct{ Class, Box, Mask float64 }

// degrade maps a residual to [0, 1): tanh(|r|/2), which moves visibly over
// the residuals a dry run sees (about 0.5 to 2 at the start).
func degrade(r float64) float64 { return math.Tanh(math.Abs(r) / 2) }

// predictWith makes the detections of b for a degradation d.
func predictWith(b *batch.Batch, d degradation) train.Prediction {
	B, G, C := b.Size, b.MaxGTInstances, b.NumClasses
	const S = PredictMaskSize
	p := train.Prediction{N: G + 1, MaskHeight: S, MaskWidth: S, Classes: C}
	p.Detections = make([]float32, B*p.N*6)
	p.Masks = make([]float32, B*p.N*S*S*C)
	H, W := float64(b.Height), float64(b.Width)
	var grid [S * S]float32
	for s := range B {
		id := b.ImageIDs[s]
		var dets []detection
		for g := range G {
			c := int(b.GTClassIDs[s*G+g])
			if c <= 0 || c >= C {
				continue // padding, crowd, or a class the model lacks
			}
			gb := b.GTBoxes[(s*G+g)*4 : (s*G+g)*4+4]
			y1, x1, y2, x2 := float64(gb[0]), float64(gb[1]), float64(gb[2]), float64(gb[3])
			if y2 <= y1 || x2 <= x1 {
				continue
			}
			u := jitter(id, g)
			h, w := y2-y1, x2-x1
			cy := (y1+y2)/2 + 0.3*d.Box*h*u[0]
			cx := (x1+x2)/2 + 0.3*d.Box*w*u[1]
			h *= 1 + 0.3*d.Box*u[2]
			w *= 1 + 0.3*d.Box*u[3]
			box := clampBox([4]float64{cy - h/2, cx - w/2, cy + h/2, cx + w/2}, H, W)
			instanceMask(b, s, g, 0.3*d.Mask*u[4], 0.3*d.Mask*u[5], &grid)
			dets = append(dets, detection{box: box, class: c, score: sigmoid(4*(0.75-d.Class) + u[6]), mask: grid})
		}
		// One false positive a quarter of the image in size.
		u := jitter(id, G)
		fc := 1 + int(uint64(id)%uint64(C-1))
		fy, fx := (0.5+0.375*u[0])*H, (0.5+0.375*u[1])*W
		fp := clampBox([4]float64{fy - H/8, fx - W/8, fy + H/8, fx + W/8}, H, W)
		for i := range grid {
			grid[i] = 1
		}
		dets = append(dets, detection{box: fp, class: fc, score: sigmoid(4*(d.Class-0.75) + u[6]), mask: grid})

		sort.SliceStable(dets, func(i, j int) bool { return dets[i].score > dets[j].score })
		for k, d := range dets {
			row := p.Detections[(s*p.N+k)*6 : (s*p.N+k)*6+6]
			// Normalised as matterport's norm_boxes: y2, x2 exclusive.
			row[0] = float32(d.box[0] / (H - 1))
			row[1] = float32(d.box[1] / (W - 1))
			row[2] = float32((d.box[2] - 1) / (H - 1))
			row[3] = float32((d.box[3] - 1) / (W - 1))
			row[4] = float32(d.class)
			row[5] = float32(d.score)
			base := (s*p.N + k) * S * S * C
			for i, v := range d.mask {
				p.Masks[base+i*C+d.class] = v
			}
		}
	}
	return p
}

type detection struct {
	box   [4]float64 // y1 x1 y2 x2, molded-image pixels, y2 x2 exclusive
	class int
	score float64
	mask  [PredictMaskSize * PredictMaskSize]float32
}

func predictable(b *batch.Batch, anchors []float32) error {
	if b == nil {
		return errors.New("no batch")
	}
	B, G := b.Size, b.MaxGTInstances
	switch {
	case B <= 0 || b.Height <= 1 || b.Width <= 1:
		return fmt.Errorf("batch of %d images of %dx%d", B, b.Height, b.Width)
	case b.NumClasses < 2:
		return fmt.Errorf("%d classes: need the background and at least one class", b.NumClasses)
	case len(b.ImageIDs) < B || len(b.GTClassIDs) < B*G || len(b.GTBoxes) < B*G*4 ||
		len(b.GTMasks) < B*b.MaskHeight*b.MaskWidth*G:
		return fmt.Errorf("batch tensors shorter than its dimensions %+v", b.Dims)
	case anchors != nil && len(anchors) != 4*b.Anchors:
		return fmt.Errorf("%d anchor values, want %d for %d anchors", len(anchors), 4*b.Anchors, b.Anchors)
	}
	return nil
}

// jitter returns fixed values in [-1, 1) for instance g of an image.
func jitter(imageID int64, g int) [7]float64 {
	rng := rand.New(rand.NewPCG(uint64(imageID), uint64(g)+0x5eed))
	var u [7]float64
	for i := range u {
		u[i] = 2*rng.Float64() - 1
	}
	return u
}

func clampBox(b [4]float64, H, W float64) [4]float64 {
	b[0], b[2] = math.Max(b[0], 0), math.Min(b[2], H)
	b[1], b[3] = math.Max(b[1], 0), math.Min(b[3], W)
	return b
}

// instanceMask samples instance g's mask of image s over its box into the
// grid, shifted by (dy, dx) box fractions. The batch holds mini masks
// (already the box's content) or, when the mask size is the image size,
// full-image masks, which are cropped to the instance's box.
func instanceMask(b *batch.Batch, s, g int, dy, dx float64, grid *[PredictMaskSize * PredictMaskSize]float32) {
	const S = PredictMaskSize
	mh, mw, G := b.MaskHeight, b.MaskWidth, b.MaxGTInstances
	full := mh == b.Height && mw == b.Width
	gb := b.GTBoxes[(s*G+g)*4 : (s*G+g)*4+4]
	for i := range S {
		fy := (float64(i)+0.5)/S + dy
		for j := range S {
			fx := (float64(j)+0.5)/S + dx
			grid[i*S+j] = 0
			if fy < 0 || fy >= 1 || fx < 0 || fx >= 1 {
				continue
			}
			var y, x int
			if full {
				y = int(float64(gb[0]) + fy*float64(gb[2]-gb[0]))
				x = int(float64(gb[1]) + fx*float64(gb[3]-gb[1]))
			} else {
				y, x = int(fy*float64(mh)), int(fx*float64(mw))
			}
			if y < 0 || y >= mh || x < 0 || x >= mw {
				continue
			}
			if b.GTMasks[((s*mh+y)*mw+x)*G+g] {
				grid[i*S+j] = 1
			}
		}
	}
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
