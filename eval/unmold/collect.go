package unmold

import (
	"fmt"

	"github.com/graftrain/graftrain/data/batch"
	"github.com/graftrain/graftrain/eval"
	"github.com/graftrain/graftrain/train"
)

// Collector gathers the detections of a validation pass, batch by batch,
// for eval.Evaluate.
type Collector struct {
	// CategoryOf maps a model class id to a COCO category id; detections
	// of classes it does not map are dropped.
	CategoryOf func(classID int) (int64, bool)
	dets       []eval.Detection
}

// ClassCategories returns a CategoryOf for a model whose class i is COCO
// category ids[i] (ids[0], the background, is never a detection), the
// order data/coco's Dataset.Classes lists them in.
func ClassCategories(ids []int64) func(int) (int64, bool) {
	return func(c int) (int64, bool) {
		if c <= 0 || c >= len(ids) {
			return 0, false
		}
		return ids[c], true
	}
}

// Add unmolds the predict output p of batch b and keeps the detections of
// its first n images (a last batch may be padded with repeats).
func (c *Collector) Add(p train.Prediction, b *batch.Batch, n int) error {
	if c.CategoryOf == nil {
		return fmt.Errorf("unmold: Collector has no CategoryOf")
	}
	if n < 0 || n > b.Size {
		return fmt.Errorf("unmold: %d images kept of a batch of %d", n, b.Size)
	}
	insts, err := Batch(p, b)
	if err != nil {
		return err
	}
	for i := range n {
		id := b.ImageIDs[i]
		c.dets = append(c.dets, Detections(id, insts[i], c.CategoryOf)...)
	}
	return nil
}

// Detections returns everything added, numbered 1..N in the order added
// as a results file would be.
func (c *Collector) Detections() []eval.Detection {
	for i := range c.dets {
		c.dets[i].ID = int64(i + 1)
	}
	return c.dets
}

// Reset empties the collector for the next pass.
func (c *Collector) Reset() { c.dets = c.dets[:0] }
