package standin

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/graftrain/graftrain/data/batch"
	"github.com/graftrain/graftrain/graphs"
	"github.com/graftrain/graftrain/train"
)

// DefaultMaxElements caps each stand-in tensor's element count.
const DefaultMaxElements = 16

// FeatureScale sets the squared norm of each loss's feature vector over all
// the variables it depends on, and with it the curvature: plain SGD at a
// learning rate lr shrinks a loss's residual by about 1 - lr*FeatureScale
// a step, so matterport's usual 0.001-0.02 learning rates converge visibly
// within tens of steps.
const FeatureScale = 20.0

// Options configure a stand-in model.
type Options struct {
	// Seed makes the initial weights and the loss features; the same seed
	// and manifest give the same model.
	Seed int64
	// MaxElements caps each tensor's size (DefaultMaxElements when 0).
	MaxElements int
	// Store writes and reads checkpoints (Save and Restore fail without one).
	Store Store
	// InjectNaN, when set, makes the n-th call of Step (1-based, counted
	// over the model's lifetime, not restored by Restore) produce a NaN
	// loss that propagates into the variables as a real one would.
	InjectNaN func(call int64) bool
	// SkipNonFinite makes the model guard itself as a model with the
	// contract's optional update_skipped output does: a step whose total
	// loss is not finite changes nothing (step counter included) and
	// reports update_skipped = 1 in StepResult.Extra.
	SkipNonFinite bool
}

type variable struct {
	name      string
	shape     []int64 // stand-in shape (scaled down)
	w, v      []float32
	decay     bool // L2 weight decay applies (trainable, not BatchNorm)
	trainable bool
	losses    [5]bool
	feat      [5][]float64 // per loss, the feature vector over w
}

// Model is the stand-in model. It implements train.Runner; it is not safe
// for concurrent use.
type Model struct {
	opts  Options
	vars  []variable
	step  int64
	calls int64
	sizes int // total elements
}

var _ train.Runner = (*Model)(nil)

// Names of the non-variable tensors in a stand-in checkpoint.
const (
	StepKey     = "global_step"
	momentumSfx = "/momentum"
)

// New builds the stand-in model for a variables manifest.
func New(m *graphs.VariablesManifest, opts Options) (*Model, error) {
	if m == nil || len(m.Variables) == 0 {
		return nil, errors.New("stand-in model: the variables manifest is empty")
	}
	if opts.MaxElements <= 0 {
		opts.MaxElements = DefaultMaxElements
	}
	md := &Model{opts: opts, vars: make([]variable, len(m.Variables))}
	seen := map[string]int{}
	var perLoss [5]int
	for i, mv := range m.Variables {
		if j, dup := seen[mv.Path]; dup {
			return nil, fmt.Errorf("stand-in model: variable %d %q duplicates variable %d", i, mv.Path, j)
		}
		seen[mv.Path] = i
		shape := scaleShape(mv.Shape, opts.MaxElements)
		n := numel(shape)
		v := variable{
			name:      mv.Path,
			shape:     shape,
			w:         make([]float32, n),
			v:         make([]float32, n),
			trainable: mv.Trainable,
			decay:     mv.Trainable && !mv.BatchNorm,
		}
		if mv.Trainable {
			v.losses = lossesOf(mv.Path)
		}
		rng := rand.New(rand.NewPCG(uint64(opts.Seed), hashName(mv.Path)))
		for j := range v.w {
			v.w[j] = float32(0.1 * rng.NormFloat64())
		}
		if strings.HasSuffix(mv.Path, "moving_variance") || strings.HasSuffix(mv.Path, "gamma") {
			for j := range v.w {
				v.w[j] = 1
			}
		}
		for k := range 5 {
			if v.losses[k] {
				v.feat[k] = make([]float64, n)
				for j := range v.feat[k] {
					v.feat[k][j] = 2*rng.Float64() - 1
				}
				perLoss[k] += n
			}
		}
		md.vars[i] = v
		md.sizes += n
	}
	// Normalise each loss's features to FeatureScale/3 squared norm in
	// expectation (uniform [-1,1] has variance 1/3).
	for i := range md.vars {
		for k := range 5 {
			if f := md.vars[i].feat[k]; f != nil {
				s := math.Sqrt(FeatureScale / float64(perLoss[k]))
				for j := range f {
					f[j] *= s
				}
			}
		}
	}
	return md, nil
}

// lossesOf says which losses a variable feeds, from matterport's naming:
// the RPN feeds the two RPN losses, each head its own loss, everything
// else (backbone, FPN) all five.
func lossesOf(path string) [5]bool {
	switch {
	case strings.HasPrefix(path, "rpn_"):
		return [5]bool{true, true, false, false, false}
	case strings.HasPrefix(path, "mrcnn_class"):
		return [5]bool{false, false, true, false, false}
	case strings.HasPrefix(path, "mrcnn_bbox"):
		return [5]bool{false, false, false, true, false}
	case strings.HasPrefix(path, "mrcnn_mask"):
		return [5]bool{false, false, false, false, true}
	}
	return [5]bool{true, true, true, true, true}
}

// scaleShape keeps the last dimension's role (channels) and shrinks every
// dimension until the element count is at most max.
func scaleShape(shape []int64, max int) []int64 {
	if len(shape) == 0 {
		return []int64{}
	}
	s := append([]int64(nil), shape...)
	for i := range s {
		if s[i] < 1 {
			s[i] = 1
		}
	}
	for numel(s) > max {
		// Halve the largest dimension.
		j := 0
		for i := range s {
			if s[i] > s[j] {
				j = i
			}
		}
		s[j] = (s[j] + 1) / 2
	}
	return s
}

func numel(s []int64) int {
	n := 1
	for _, d := range s {
		n *= int(d)
	}
	return n
}

func hashName(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// NumVariables is V, the length of the multiplier vector.
func (m *Model) NumVariables() int { return len(m.vars) }

// StepCount is the model's own step counter.
func (m *Model) StepCount() int64 { return m.step }

// OptionalInputs names the contract's optional inputs the stand-in reads.
func (m *Model) OptionalInputs() []string {
	return []string{train.OptWeightDecay, train.OptMomentum, train.OptClipNorm, train.OptRPNMinProposalSize}
}

// Weights returns a copy of variable i's values.
func (m *Model) Weights(i int) []float32 { return append([]float32(nil), m.vars[i].w...) }

// VarWeightNorms returns each variable's L2 norm, manifest order.
func (m *Model) VarWeightNorms() []float32 {
	out := make([]float32, len(m.vars))
	for i := range m.vars {
		out[i] = float32(norm32(m.vars[i].w))
	}
	return out
}

// targets derives the five regression targets from the batch, so the
// losses depend on the data the loader produced.
func targets(b *batch.Batch) [5]float64 {
	var t [5]float64
	if b == nil {
		return t
	}
	var pos, neg float64
	for _, m := range b.RPNMatch {
		switch m {
		case 1:
			pos++
		case -1:
			neg++
		}
	}
	if pos+neg > 0 {
		t[0] = pos / (pos + neg)
	}
	if len(b.RPNBBox) > 0 {
		var s float64
		for _, v := range b.RPNBBox {
			s += math.Abs(float64(v))
		}
		t[1] = s / float64(len(b.RPNBBox))
	}
	var inst, cls, area float64
	for i, c := range b.GTClassIDs {
		if c <= 0 {
			continue
		}
		inst++
		if b.NumClasses > 0 {
			cls += float64(c) / float64(b.NumClasses)
		}
		if b.Height > 0 && b.Width > 0 && 4*i+3 < len(b.GTBoxes) {
			h := float64(b.GTBoxes[4*i+2] - b.GTBoxes[4*i])
			w := float64(b.GTBoxes[4*i+3] - b.GTBoxes[4*i+1])
			area += math.Sqrt(math.Max(h*w, 0) / float64(b.Height*b.Width))
		}
	}
	if inst > 0 {
		t[2] = cls / inst
		t[3] = area / inst
	}
	if len(b.GTMasks) > 0 && inst > 0 {
		var on float64
		for _, v := range b.GTMasks {
			if v {
				on++
			}
		}
		t[4] = on / float64(len(b.GTMasks)) * float64(b.MaxGTInstances) / inst
	}
	// A strided sample of the image (the mean pixel is already subtracted)
	// shifts every target a little, so images matter too.
	if n := len(b.Image); n > 0 {
		var s float64
		var c int
		for i := 0; i < n; i += 997 {
			s += float64(b.Image[i])
			c++
		}
		img := s / float64(c) / 128
		for k := range t {
			t[k] += 0.1 * img
		}
	}
	return t
}

// residuals returns prediction minus target per loss.
func (m *Model) residuals(b *batch.Batch) [5]float64 {
	t := targets(b)
	var r [5]float64
	for i := range m.vars {
		v := &m.vars[i]
		for k := range 5 {
			if f := v.feat[k]; f != nil {
				var s float64
				for j, w := range v.w {
					s += float64(w) * f[j]
				}
				r[k] += s
			}
		}
	}
	for k := range r {
		r[k] -= t[k]
	}
	return r
}

// Step runs one train_step: losses L_k = r_k²/2, total = Σ w_k L_k + L2
// weight decay as matterport adds it (wd·Σw²/size over trainable non-BN
// variables that train this step), gradients, clipping by global norm over
// the training variables, then SGD with momentum per variable at
// lr·multiplier; a multiplier of 0 leaves weight and momentum untouched.
func (m *Model) Step(ctx context.Context, b *batch.Batch, p train.StepParams) (train.StepResult, error) {
	if len(p.LRMultipliers) != len(m.vars) {
		return train.StepResult{}, fmt.Errorf("stand-in step: %d LR multipliers for %d variables", len(p.LRMultipliers), len(m.vars))
	}
	m.calls++
	r := m.residuals(b)
	if m.opts.InjectNaN != nil && m.opts.InjectNaN(m.calls) {
		r[0] = math.NaN()
	}
	wd := float64(p.Optional[train.OptWeightDecay])
	mom := float64(p.Optional[train.OptMomentum])
	clip := float64(p.Optional[train.OptClipNorm])
	res := train.StepResult{
		VarGradNorms:   make([]float32, len(m.vars)),
		VarUpdateNorms: make([]float32, len(m.vars)),
	}
	var total, reg float64
	for k := range 5 {
		l := 0.5 * r[k] * r[k]
		res.Losses[k] = float32(l)
		total += float64(p.LossWeights[k]) * l
	}
	grads := make([][]float64, len(m.vars))
	var global float64
	for i := range m.vars {
		v := &m.vars[i]
		if !v.trainable {
			continue
		}
		g := make([]float64, len(v.w))
		for k := range 5 {
			if f := v.feat[k]; f != nil {
				c := float64(p.LossWeights[k]) * r[k]
				for j := range g {
					g[j] += c * f[j]
				}
			}
		}
		mult := p.LRMultipliers[i]
		if v.decay && mult != 0 && wd != 0 {
			n := float64(len(v.w))
			for j, w := range v.w {
				reg += wd * float64(w) * float64(w) / n
				g[j] += 2 * wd * float64(w) / n
			}
		}
		grads[i] = g
		gn := norm64(g)
		res.VarGradNorms[i] = float32(gn)
		if mult != 0 {
			global += gn * gn
		}
	}
	total += reg
	res.TotalLoss = float32(total)
	if m.opts.SkipNonFinite && (math.IsNaN(total) || math.IsInf(total, 0)) {
		res.Extra = map[string]float32{graphs.OutputUpdateSkipped: 1}
		clear(res.VarUpdateNorms)
		res.Step = m.step
		return res, nil
	}
	global = math.Sqrt(global)
	res.GradNorm = float32(global)
	scale := 1.0
	if clip > 0 && global > clip {
		scale = clip / global
	}
	lr := float64(p.LearningRate)
	for i := range m.vars {
		v := &m.vars[i]
		mult := float64(p.LRMultipliers[i])
		if grads[i] == nil || mult == 0 {
			continue
		}
		var un float64
		for j, g := range grads[i] {
			vel := float32(mom*float64(v.v[j]) - lr*mult*scale*g)
			old := v.w[j]
			v.v[j] = vel
			v.w[j] = old + vel
			d := float64(v.w[j] - old)
			un += d * d
		}
		res.VarUpdateNorms[i] = float32(math.Sqrt(un))
	}
	m.step++
	res.Step = m.step
	return res, nil
}

// Eval computes the losses on b without changing anything.
func (m *Model) Eval(ctx context.Context, b *batch.Batch, lossWeights [5]float32) (train.EvalResult, error) {
	r := m.residuals(b)
	var out train.EvalResult
	var total float64
	for k := range 5 {
		l := 0.5 * r[k] * r[k]
		out.Losses[k] = float32(l)
		total += float64(lossWeights[k]) * l
	}
	out.TotalLoss = float32(total)
	return out, nil
}

// Close releases nothing.
func (m *Model) Close() error { return nil }

func norm64(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v * v
	}
	return math.Sqrt(s)
}

func norm32(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s)
}
