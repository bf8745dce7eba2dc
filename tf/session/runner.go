//go:build tensorflow

package session

import (
	"context"
	"fmt"
	"maps"
	"runtime"
	"slices"

	tf "github.com/wamuir/graft/tensorflow"

	"github.com/graftrain/graftrain/data/batch"
	"github.com/graftrain/graftrain/graphs"
	"github.com/graftrain/graftrain/tf/savedmodel"
	"github.com/graftrain/graftrain/train"
)

// collectEvery is how many bytes of tensors the runner hands to
// TensorFlow before it runs the Go collector. graft frees a tensor's C
// memory in a finalizer, and the Go heap barely grows per step, so without
// this the C memory of old batches would pile up between collections.
const collectEvery = 1 << 30

// Runner implements train.Runner with a contract SavedModel. It is not
// safe for concurrent use: the loop calls it from one goroutine.
type Runner struct {
	m                    *Model
	report               *savedmodel.ContractReport
	train, eval, predict *Signature
	dims                 batch.Dims
	vars                 int

	trainFetch   []tf.Output
	trainExtra   []string // optional outputs the model has, fetched after the required ones
	evalFetch    []tf.Output
	predictFetch []tf.Output

	// Tensors that stay the same across steps are kept and fed again.
	lrMult, lossW cached
	anchors       cached
	lastOptional  map[string]float32
	handed        int64
}

type cached struct {
	shape  []int64
	values []float32
	t      *tf.Tensor
}

// tensor returns the cached tensor when shape and v equal its own, else a
// new one. Feeding one tensor to many Run calls is allowed: TF_SessionRun
// leaves the input tensors to the caller and does not change them.
func (c *cached) tensor(shape []int64, v []float32) (*tf.Tensor, error) {
	if c.t != nil && slices.Equal(c.shape, shape) && slices.Equal(c.values, v) {
		return c.t, nil
	}
	t, err := floatTensor(shape, v)
	if err != nil {
		return nil, err
	}
	c.shape = append(c.shape[:0], shape...)
	c.values = append(c.values[:0], v...)
	c.t = t
	return t, nil
}

// NewRunner checks m against the training contract (savedmodel.Check,
// the report graftrain inspect prints) and prepares the feeds and fetches
// of train_step, eval_step and predict. A model that misses the contract
// gives a *savedmodel.ContractError listing every unmet requirement.
func NewRunner(m *Model) (*Runner, error) {
	report := savedmodel.Check(m.Saved, m.Tags)
	if err := report.Err(); err != nil {
		return nil, err
	}
	dims, err := Dims(report.Sizes, m.Graph)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", m.Saved.Dir, err)
	}
	r := &Runner{
		m:       m,
		report:  report,
		train:   m.Signature(graphs.SignatureTrain),
		eval:    m.Signature(graphs.SignatureEval),
		predict: m.Signature(graphs.SignaturePredict),
		dims:    dims,
		vars:    int(report.Sizes[graphs.DimVariables]),
	}
	for _, name := range []string{graphs.SignatureTrain, graphs.SignatureEval, graphs.SignaturePredict} {
		if err := m.SignatureErr(name); err != nil {
			return nil, fmt.Errorf("model %s: %w", m.Saved.Dir, err)
		}
	}
	for _, name := range trainOutputs() {
		r.trainFetch = append(r.trainFetch, r.train.Outputs[name].Output)
	}
	for _, name := range graphs.OptionalOutputs() {
		if p, ok := r.train.Outputs[name]; ok {
			r.trainExtra = append(r.trainExtra, name)
			r.trainFetch = append(r.trainFetch, p.Output)
		}
	}
	for _, name := range evalOutputs() {
		r.evalFetch = append(r.evalFetch, r.eval.Outputs[name].Output)
	}
	r.predictFetch = []tf.Output{r.predict.Outputs[graphs.OutputDetections].Output, r.predict.Outputs[graphs.OutputMasks].Output}
	return r, nil
}

// Report is the contract check the runner was built on.
func (r *Runner) Report() *savedmodel.ContractReport { return r.report }

// Dims are the batch dimensions the model takes.
func (r *Runner) Dims() batch.Dims { return r.dims }

// trainOutputs is the fetch order of train_step's required outputs.
func trainOutputs() []string {
	return append(evalOutputs(), graphs.OutputGradNorm, graphs.OutputVarGradNorms, graphs.OutputVarUpdateNorms, graphs.OutputStep)
}

func evalOutputs() []string {
	return append(graphs.LossNames[:], graphs.OutputTotalLoss)
}

// Model returns the runner's model.
func (r *Runner) Model() *Model { return r.m }

// OptionalInputs lists the contract's optional inputs train_step declares.
func (r *Runner) OptionalInputs() []string {
	var out []string
	for _, n := range graphs.OptionalInputs() {
		if _, ok := r.train.Inputs[n]; ok {
			out = append(out, n)
		}
	}
	return out
}

func (r *Runner) checkBatch(b *batch.Batch) error {
	if r.dims != (batch.Dims{}) && b.Dims != r.dims {
		return fmt.Errorf("batch dims %+v differ from the model's %+v", b.Dims, r.dims)
	}
	return nil
}

// dataFeeds adds the seven batch tensors of sig to feeds.
func (r *Runner) dataFeeds(sig *Signature, b *batch.Batch, feeds map[tf.Output]*tf.Tensor) error {
	shapes := b.Dims.Shapes()
	add := func(name string, t *tf.Tensor, err error) error {
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		feeds[sig.Inputs[name].Output] = t
		r.handed += byteSize(t)
		return nil
	}
	for _, f := range []func() error{
		func() error {
			t, err := floatTensor(shapes[graphs.InputImage], b.Image)
			return add(graphs.InputImage, t, err)
		},
		func() error {
			t, err := floatTensor(shapes[graphs.InputImageMeta], b.ImageMeta)
			return add(graphs.InputImageMeta, t, err)
		},
		func() error {
			t, err := int32Tensor(shapes[graphs.InputRPNMatch], b.RPNMatch)
			return add(graphs.InputRPNMatch, t, err)
		},
		func() error {
			t, err := floatTensor(shapes[graphs.InputRPNBBox], b.RPNBBox)
			return add(graphs.InputRPNBBox, t, err)
		},
		func() error {
			t, err := int32Tensor(shapes[graphs.InputGTClassIDs], b.GTClassIDs)
			return add(graphs.InputGTClassIDs, t, err)
		},
		func() error {
			t, err := floatTensor(shapes[graphs.InputGTBoxes], b.GTBoxes)
			return add(graphs.InputGTBoxes, t, err)
		},
		func() error {
			t, err := boolTensor(shapes[graphs.InputGTMasks], b.GTMasks)
			return add(graphs.InputGTMasks, t, err)
		},
	} {
		if err := f(); err != nil {
			return err
		}
	}
	return nil
}

// optionalFeeds feeds every optional input sig declares from values.
func optionalFeeds(sig *Signature, values map[string]float32, feeds map[tf.Output]*tf.Tensor) error {
	for _, n := range graphs.OptionalInputs() {
		p, ok := sig.Inputs[n]
		if !ok {
			continue
		}
		v, ok := values[n]
		if !ok {
			return fmt.Errorf("signature %s declares input %s but no value was given for it", sig.Name, n)
		}
		t, err := scalarFeed(p, v)
		if err != nil {
			return fmt.Errorf("%s: %w", n, err)
		}
		feeds[p.Output] = t
	}
	return nil
}

// scalarFeed makes the tensor for a scalar input: shape [] or, where the
// export declares it so (the contract allows it), [1].
func scalarFeed(p Port, v float32) (*tf.Tensor, error) {
	if d := p.Spec.Shape.Dims; !p.Spec.Shape.UnknownRank && len(d) == 1 {
		return floatTensor([]int64{1}, []float32{v})
	}
	return tf.NewTensor(v)
}

// collect runs the Go collector once enough tensor memory was handed to
// TensorFlow, so graft's finalizers free the C buffers of old steps.
func (r *Runner) collect() {
	if r.handed >= collectEvery {
		r.handed = 0
		runtime.GC()
	}
}

// Step runs train_step once.
func (r *Runner) Step(ctx context.Context, b *batch.Batch, p train.StepParams) (train.StepResult, error) {
	var res train.StepResult
	if err := ctx.Err(); err != nil {
		return res, err
	}
	if err := r.checkBatch(b); err != nil {
		return res, fmt.Errorf("train step: %w", err)
	}
	if r.vars > 0 && len(p.LRMultipliers) != r.vars {
		return res, fmt.Errorf("train step: %d lr multipliers for %d variables", len(p.LRMultipliers), r.vars)
	}
	feeds := make(map[tf.Output]*tf.Tensor, 14)
	if err := r.dataFeeds(r.train, b, feeds); err != nil {
		return res, fmt.Errorf("train step: %w", err)
	}
	lr, err := scalarFeed(r.train.Inputs[graphs.InputLearningRate], p.LearningRate)
	if err != nil {
		return res, fmt.Errorf("train step: learning_rate: %w", err)
	}
	feeds[r.train.Inputs[graphs.InputLearningRate].Output] = lr
	mult, err := r.lrMult.tensor([]int64{int64(len(p.LRMultipliers))}, p.LRMultipliers)
	if err != nil {
		return res, fmt.Errorf("train step: lr_multipliers: %w", err)
	}
	feeds[r.train.Inputs[graphs.InputLRMultipliers].Output] = mult
	lw, err := r.lossW.tensor([]int64{5}, p.LossWeights[:])
	if err != nil {
		return res, fmt.Errorf("train step: loss_weights: %w", err)
	}
	feeds[r.train.Inputs[graphs.InputLossWeights].Output] = lw
	if err := optionalFeeds(r.train, p.Optional, feeds); err != nil {
		return res, fmt.Errorf("train step: %w", err)
	}
	r.lastOptional = maps.Clone(p.Optional)

	out, err := r.m.saved.Session.Run(feeds, r.trainFetch, nil)
	r.collect()
	if err != nil {
		return res, fmt.Errorf("train step: %w", err)
	}
	names := append(trainOutputs(), r.trainExtra...)
	read := func(i int) (float32, error) {
		v, err := scalarOf(out[i])
		if err != nil {
			return 0, fmt.Errorf("train_step output %s: %w", names[i], err)
		}
		return v, nil
	}
	for i := range 5 {
		if res.Losses[i], err = read(i); err != nil {
			return res, err
		}
	}
	if res.TotalLoss, err = read(5); err != nil {
		return res, err
	}
	if res.GradNorm, err = read(6); err != nil {
		return res, err
	}
	// New slices each step: the loop keeps results (metrics rows).
	if res.VarGradNorms, err = floatsOf(out[7], nil); err != nil {
		return res, fmt.Errorf("train_step output %s: %w", graphs.OutputVarGradNorms, err)
	}
	if res.VarUpdateNorms, err = floatsOf(out[8], nil); err != nil {
		return res, fmt.Errorf("train_step output %s: %w", graphs.OutputVarUpdateNorms, err)
	}
	// The loop indexes these by manifest position: a length other than V
	// is the model's error, reported here rather than as a panic later.
	if r.vars > 0 && (len(res.VarGradNorms) != r.vars || len(res.VarUpdateNorms) != r.vars) {
		return res, fmt.Errorf("train_step outputs %s and %s have %d and %d values, want one per variable (%d)",
			graphs.OutputVarGradNorms, graphs.OutputVarUpdateNorms, len(res.VarGradNorms), len(res.VarUpdateNorms), r.vars)
	}
	if res.Step, err = int64Of(out[9]); err != nil {
		return res, fmt.Errorf("train_step output %s: %w", graphs.OutputStep, err)
	}
	if len(r.trainExtra) > 0 {
		res.Extra = make(map[string]float32, len(r.trainExtra))
		for i, n := range r.trainExtra {
			v, err := extraOf(out[10+i])
			if err != nil {
				return res, fmt.Errorf("train_step output %s: %w", n, err)
			}
			res.Extra[n] = v
		}
	}
	return res, nil
}

// Eval runs eval_step once; no variable changes.
func (r *Runner) Eval(ctx context.Context, b *batch.Batch, lossWeights [5]float32) (train.EvalResult, error) {
	var res train.EvalResult
	if err := ctx.Err(); err != nil {
		return res, err
	}
	if err := r.checkBatch(b); err != nil {
		return res, fmt.Errorf("eval step: %w", err)
	}
	feeds := make(map[tf.Output]*tf.Tensor, 12)
	if err := r.dataFeeds(r.eval, b, feeds); err != nil {
		return res, fmt.Errorf("eval step: %w", err)
	}
	lw, err := floatTensor([]int64{5}, lossWeights[:])
	if err != nil {
		return res, fmt.Errorf("eval step: loss_weights: %w", err)
	}
	feeds[r.eval.Inputs[graphs.InputLossWeights].Output] = lw
	// eval_step may declare optional inputs too; they take the values of
	// the last train step, and 0 where there is none (before the first
	// step, or an input train_step lacks): no decay, no clipping effect on
	// losses, no proposal filter.
	optional := map[string]float32{}
	for _, n := range graphs.OptionalInputs() {
		optional[n] = 0
	}
	maps.Copy(optional, r.lastOptional)
	if err := optionalFeeds(r.eval, optional, feeds); err != nil {
		return res, fmt.Errorf("eval step: %w", err)
	}
	out, err := r.m.saved.Session.Run(feeds, r.evalFetch, nil)
	r.collect()
	if err != nil {
		return res, fmt.Errorf("eval step: %w", err)
	}
	names := evalOutputs()
	for i := range 6 {
		v, err := scalarOf(out[i])
		if err != nil {
			return res, fmt.Errorf("eval_step output %s: %w", names[i], err)
		}
		if i < 5 {
			res.Losses[i] = v
		} else {
			res.TotalLoss = v
		}
	}
	return res, nil
}

// Predict runs predict on b's images with anchors [A, 4] (normalised),
// tiled over the batch as input_anchors [B, A, 4].
func (r *Runner) Predict(ctx context.Context, b *batch.Batch, anchors []float32) (train.Prediction, error) {
	var res train.Prediction
	if err := ctx.Err(); err != nil {
		return res, err
	}
	if err := r.checkBatch(b); err != nil {
		return res, fmt.Errorf("predict: %w", err)
	}
	if len(anchors)%4 != 0 || (b.Anchors > 0 && len(anchors) != 4*b.Anchors) {
		return res, fmt.Errorf("predict: %d anchor values, want 4 per anchor for %d anchors", len(anchors), b.Anchors)
	}
	shapes := b.Dims.Shapes()
	feeds := make(map[tf.Output]*tf.Tensor, 3)
	img, err := floatTensor(shapes[graphs.InputImage], b.Image)
	if err != nil {
		return res, fmt.Errorf("predict: %s: %w", graphs.InputImage, err)
	}
	meta, err := floatTensor(shapes[graphs.InputImageMeta], b.ImageMeta)
	if err != nil {
		return res, fmt.Errorf("predict: %s: %w", graphs.InputImageMeta, err)
	}
	tiled := make([]float32, 0, b.Size*len(anchors))
	for range b.Size {
		tiled = append(tiled, anchors...)
	}
	anch, err := r.anchors.tensor([]int64{int64(b.Size), int64(len(anchors) / 4), 4}, tiled)
	if err != nil {
		return res, fmt.Errorf("predict: %s: %w", graphs.InputAnchors, err)
	}
	feeds[r.predict.Inputs[graphs.InputImage].Output] = img
	feeds[r.predict.Inputs[graphs.InputImageMeta].Output] = meta
	feeds[r.predict.Inputs[graphs.InputAnchors].Output] = anch
	r.handed += byteSize(img) + byteSize(meta)
	out, err := r.m.saved.Session.Run(feeds, r.predictFetch, nil)
	if err != nil {
		r.collect()
		return res, fmt.Errorf("predict: %w", err)
	}
	det, masks := out[0], out[1]
	// The outputs are C memory too (the masks can be tens of MB a batch).
	r.handed += byteSize(det) + byteSize(masks)
	r.collect()
	ds, ms := det.Shape(), masks.Shape()
	if len(ds) != 3 || ds[0] != int64(b.Size) || ds[2] != 6 || len(ms) != 5 || ms[0] != ds[0] || ms[1] != ds[1] {
		return res, fmt.Errorf("predict: detections shape %v and mrcnn_mask shape %v, want [%d, N, 6] and [%d, N, mh, mw, classes]", ds, ms, b.Size, b.Size)
	}
	if res.Detections, err = floatsOf(det, nil); err != nil {
		return res, fmt.Errorf("predict: detections: %w", err)
	}
	if res.Masks, err = floatsOf(masks, nil); err != nil {
		return res, fmt.Errorf("predict: mrcnn_mask: %w", err)
	}
	res.N, res.MaskHeight, res.MaskWidth, res.Classes = int(ds[1]), int(ms[2]), int(ms[3]), int(ms[4])
	return res, nil
}

// Save writes a checkpoint through saver_def (see Model.Save).
func (r *Runner) Save(ctx context.Context, prefix string) error { return r.m.Save(ctx, prefix) }

// Restore reads a checkpoint through saver_def (see Model.Restore).
func (r *Runner) Restore(ctx context.Context, prefix string) error { return r.m.Restore(ctx, prefix) }

// Close closes the model's session.
func (r *Runner) Close() error { return r.m.Close() }

var _ train.Runner = (*Runner)(nil)
