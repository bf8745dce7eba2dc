// Package batch owns Batch, the host-side tensors of one training step in
// the layout of the graftrain contract (matterport's seven training inputs).
// The data loader fills it; runners hand it to a model unchanged.
package batch

// Dims are the static dimensions of a batch; they follow the model's
// contract asset (or the config) and are the same for every batch of a run.
type Dims struct {
	Size            int // B, images per batch
	Height, Width   int // molded image size (multiples of 64)
	NumClasses      int // including background
	Anchors         int // A, anchors per image
	RPNTrainAnchors int // RPN_TRAIN_ANCHORS_PER_IMAGE
	MaxGTInstances  int
	MaskHeight      int // mini mask (or full mask) height
	MaskWidth       int
}

// MetaLength is the length of one image's input_image_meta row.
func (d Dims) MetaLength() int { return 12 + d.NumClasses }

// Batch holds B images' training tensors, row-major, batch dimension first.
// Slices are owned by the batch; a loader may reuse a Batch after the
// consumer hands it back.
type Batch struct {
	Dims
	ImageIDs   []int64   // COCO image ids, for logs and NaN reports
	Image      []float32 // [B, H, W, 3] molded (mean pixel subtracted)
	ImageMeta  []float32 // [B, 12+NumClasses]
	RPNMatch   []int32   // [B, A, 1]
	RPNBBox    []float32 // [B, RPNTrainAnchors, 4]
	GTClassIDs []int32   // [B, MaxGTInstances]
	GTBoxes    []float32 // [B, MaxGTInstances, 4] y1 x1 y2 x2 pixels
	GTMasks    []bool    // [B, MaskHeight, MaskWidth, MaxGTInstances]
}

// New allocates a zeroed batch for dims.
func New(d Dims) *Batch {
	return &Batch{
		Dims:       d,
		ImageIDs:   make([]int64, d.Size),
		Image:      make([]float32, d.Size*d.Height*d.Width*3),
		ImageMeta:  make([]float32, d.Size*d.MetaLength()),
		RPNMatch:   make([]int32, d.Size*d.Anchors),
		RPNBBox:    make([]float32, d.Size*d.RPNTrainAnchors*4),
		GTClassIDs: make([]int32, d.Size*d.MaxGTInstances),
		GTBoxes:    make([]float32, d.Size*d.MaxGTInstances*4),
		GTMasks:    make([]bool, d.Size*d.MaskHeight*d.MaskWidth*d.MaxGTInstances),
	}
}

// Shapes returns each contract input's shape, keyed by the contract input name.
func (d Dims) Shapes() map[string][]int64 {
	b := int64(d.Size)
	return map[string][]int64{
		"input_image":        {b, int64(d.Height), int64(d.Width), 3},
		"input_image_meta":   {b, int64(d.MetaLength())},
		"input_rpn_match":    {b, int64(d.Anchors), 1},
		"input_rpn_bbox":     {b, int64(d.RPNTrainAnchors), 4},
		"input_gt_class_ids": {b, int64(d.MaxGTInstances)},
		"input_gt_boxes":     {b, int64(d.MaxGTInstances), 4},
		"input_gt_masks":     {b, int64(d.MaskHeight), int64(d.MaskWidth), int64(d.MaxGTInstances)},
	}
}
