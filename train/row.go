package train

import (
	"math"
	"time"

	"github.com/graftrain/graftrain/graphs"
	"github.com/graftrain/graftrain/train/metrics"
)

// WeightNormer is implemented by runners that can report each variable's
// L2 norm cheaply (the stand-in does); rows then carry group weight norms.
type WeightNormer interface {
	VarWeightNorms() []float32
}

// GroupNorms aggregates per-variable norms into per-group norms: the square
// root of the sum of squares over the group's variables. Variables in no
// group (index -1) are left out.
func GroupNorms(p *Plan, vars []float32) map[string]float64 {
	if len(vars) == 0 || len(vars) != len(p.GroupOf) {
		return nil
	}
	sums := make([]float64, len(p.Groups))
	for i, v := range vars {
		if g := p.GroupOf[i]; g >= 0 {
			sums[g] += float64(v) * float64(v)
		}
	}
	out := make(map[string]float64, len(p.Groups))
	for g, s := range sums {
		out[p.Groups[g]] = math.Sqrt(s)
	}
	return out
}

// groupMultipliers gives each group's multiplier in a stage (the largest
// over its variables; they agree unless BatchNorm statistics are frozen).
func groupMultipliers(p *Plan, mult []float32) map[string]float64 {
	if len(mult) != len(p.GroupOf) {
		return nil
	}
	out := make(map[string]float64, len(p.Groups))
	for _, g := range p.Groups {
		out[g] = 0
	}
	for i, m := range mult {
		if g := p.GroupOf[i]; g >= 0 && float64(m) > out[p.Groups[g]] {
			out[p.Groups[g]] = float64(m)
		}
	}
	return out
}

// rowAt is the part every kind of row shares: where in the run it is.
func rowAt(kind string, info *StepInfo, dryRun bool) metrics.Row {
	return metrics.Row{
		Kind:       kind,
		Time:       time.Now().UTC().Format(time.RFC3339Nano),
		Step:       info.Step,
		Stage:      info.Stage.Name,
		StageIndex: info.StageIndex,
		StageStep:  info.StageStep,
		Epoch:      info.Epoch,
		DryRun:     dryRun,
	}
}

// TrainRow builds the metrics row of a step. weights is nil when the
// runner cannot report weight norms.
func TrainRow(p *Plan, info *StepInfo, weights []float32, dryRun bool) metrics.Row {
	r := rowAt(metrics.KindTrain, info, dryRun)
	r.LR = float64(info.Params.LearningRate)
	r.Losses = make(map[string]float64, 5)
	r.WeightedLosses = make(map[string]float64, 5)
	r.LossWeights = make(map[string]float64, 5)
	r.TotalLoss = jsonFloat(info.Result.TotalLoss)
	r.GradNorm = jsonFloat(info.Result.GradNorm)
	r.ClipNorm = float64(info.Params.Optional[OptClipNorm])
	r.NonFinite = info.NonFinite
	r.GroupGradNorms = finiteMap(GroupNorms(p, info.Result.VarGradNorms))
	r.GroupUpdateNorms = finiteMap(GroupNorms(p, info.Result.VarUpdateNorms))
	r.GroupWeightNorms = finiteMap(GroupNorms(p, weights))
	r.GroupLRMult = groupMultipliers(p, info.Params.LRMultipliers)
	r.DataWaitSeconds = info.DataWait.Seconds()
	r.StepSeconds = info.StepTime.Seconds()
	for k, n := range graphs.LossNames {
		w := info.Params.LossWeights[k]
		r.Losses[n] = jsonFloat(info.Result.Losses[k])
		r.WeightedLosses[n] = jsonFloat(info.Result.Losses[k] * w)
		r.LossWeights[n] = float64(w)
	}
	if len(info.Result.Extra) > 0 {
		r.Extra = make(map[string]float64, len(info.Result.Extra))
		for k, v := range info.Result.Extra {
			r.Extra[k] = jsonFloat(v)
		}
	}
	if s := (info.DataWait + info.StepTime).Seconds(); s > 0 && info.Batch != nil {
		r.ImagesPerSecond = float64(info.Batch.Size) / s
	}
	return r
}

// ValRow builds the metrics row of a validation pass.
func ValRow(info *StepInfo, dryRun bool) metrics.Row {
	v := info.Val
	r := rowAt(metrics.KindVal, info, dryRun)
	r.Losses = make(map[string]float64, 5)
	r.WeightedLosses = make(map[string]float64, 5)
	r.TotalLoss = v.TotalLoss
	r.StepSeconds = v.Duration.Seconds()
	for k, n := range graphs.LossNames {
		r.Losses[n] = v.Losses[k]
		r.WeightedLosses[n] = v.Weighted[k]
	}
	return r
}

// COCORow builds the metrics row of a COCO evaluation pass.
func COCORow(info *StepInfo, dryRun bool) metrics.Row {
	c := info.COCO
	r := rowAt(metrics.KindEval, info, dryRun)
	r.StepSeconds = c.Duration.Seconds()
	r.Eval = make(map[string]float64, len(c.Stats))
	for k, v := range c.Stats {
		r.Eval[k] = v
	}
	return r
}

// jsonFloat keeps a row encodable: JSON has no NaN or Inf, so they are
// written as the largest float64 with the row's non_finite flag set.
func jsonFloat(v float32) float64 {
	f := float64(v)
	switch {
	case math.IsNaN(f), math.IsInf(f, 1):
		return math.MaxFloat64
	case math.IsInf(f, -1):
		return -math.MaxFloat64
	}
	return f
}

func finiteMap(m map[string]float64) map[string]float64 {
	for k, v := range m {
		m[k] = jsonFloat(float32(v))
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			m[k] = v
		}
	}
	return m
}
