package train

import (
	"context"

	"github.com/graftrain/graftrain/data/batch"
)

// Runner is the one boundary between the training loop and a model. tf/
// implements it with a SavedModel through TensorFlow's C API; the dry run
// and the tests implement it with a pure-Go stand-in model.
type Runner interface {
	// Step runs one optimisation step on b and returns its losses and stats.
	Step(ctx context.Context, b *batch.Batch, p StepParams) (StepResult, error)
	// Eval computes the losses on b without changing any variable.
	Eval(ctx context.Context, b *batch.Batch, lossWeights [5]float32) (EvalResult, error)
	// Predict runs inference on b's images (input_image, input_image_meta)
	// with anchors normalised to the image shape, [A, 4].
	Predict(ctx context.Context, b *batch.Batch, anchors []float32) (Prediction, error)
	// Save writes a TensorFlow checkpoint of every variable, optimiser slots
	// and step counter included, at prefix (files prefix.index, prefix.data-*).
	Save(ctx context.Context, prefix string) error
	// Restore reads the checkpoint at prefix into the model.
	Restore(ctx context.Context, prefix string) error
	// Close releases the model.
	Close() error
}

// StepParams is what the loop feeds besides the batch on every step.
type StepParams struct {
	LearningRate  float32
	LRMultipliers []float32  // one per variable, manifest order; 0 freezes
	LossWeights   [5]float32 // graphs.LossNames order
	// Optional holds the contract's optional scalar inputs (weight_decay,
	// momentum, clip_norm, rpn_min_proposal_size) the model declares.
	Optional map[string]float32
}

// StepResult is what one train_step returns.
type StepResult struct {
	Losses         [5]float32 // unweighted, graphs.LossNames order
	TotalLoss      float32    // weighted sum plus regularisation
	GradNorm       float32    // global, before clipping
	VarGradNorms   []float32  // per variable, manifest order
	VarUpdateNorms []float32  // per variable, manifest order
	Step           int64      // the model's own step counter after the step
	// Extra holds optional outputs (rpn_positive_anchors,
	// small_proposal_fraction, roi_positive_fraction) when the model has them.
	Extra map[string]float32
}

// EvalResult is what one eval_step returns.
type EvalResult struct {
	Losses    [5]float32
	TotalLoss float32
}

// Prediction is the predict signature's output for a batch.
type Prediction struct {
	// Detections is [B, N, 6]: y1 x1 y2 x2 (normalised), class id, score.
	Detections []float32
	// Masks is [B, N, MaskHeight, MaskWidth, NumClasses].
	Masks                             []float32
	N, MaskHeight, MaskWidth, Classes int
}
