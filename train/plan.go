package train

import (
	"fmt"
	"math"

	"github.com/graftrain/graftrain/graphs"
	"github.com/graftrain/graftrain/train/schedule"
)

// Names of the contract's optional scalar inputs the loop feeds when the
// model declares them.
const (
	OptWeightDecay        = "weight_decay"
	OptMomentum           = "momentum"
	OptClipNorm           = "clip_norm"
	OptRPNMinProposalSize = "rpn_min_proposal_size"
)

// Stage is one stage of a plan, resolved to what the loop feeds.
type Stage struct {
	Name        string
	Steps       int64 // optimisation steps in this stage
	Schedule    schedule.Schedule
	Multipliers []float32  // one per variable, manifest order; 0 freezes
	LossWeights [5]float32 // graphs.LossNames order
	// Optional holds the optional inputs fed on every step of the stage
	// (only those the model declares).
	Optional map[string]float32
}

// Plan is the whole run: its stages in order, the variable groups the
// metrics aggregate over and the epoch length.
type Plan struct {
	Stages        []Stage
	StepsPerEpoch int64
	// Groups names the variable groups; GroupOf gives each variable's index
	// into Groups (-1: in no group).
	Groups  []string
	GroupOf []int
}

// TotalSteps is the number of steps over all stages.
func (p *Plan) TotalSteps() int64 {
	var n int64
	for _, s := range p.Stages {
		n += s.Steps
	}
	return n
}

// At returns the stage a 0-based global step belongs to and the step's
// 0-based index within that stage; ok is false past the last stage.
func (p *Plan) At(step int64) (stage int, stageStep int64, ok bool) {
	for i, s := range p.Stages {
		if step < s.Steps {
			return i, step, true
		}
		step -= s.Steps
	}
	return len(p.Stages), step, false
}

// Params returns what the loop feeds on a 0-based global step.
func (p *Plan) Params(step int64) (StepParams, bool) {
	i, k, ok := p.At(step)
	if !ok {
		return StepParams{}, false
	}
	s := &p.Stages[i]
	return StepParams{
		LearningRate:  float32(s.Schedule.LR(k)),
		LRMultipliers: s.Multipliers,
		LossWeights:   s.LossWeights,
		Optional:      s.Optional,
	}, true
}

// LossWeightsFromMap orders a stage's loss_weights map by graphs.LossNames;
// names not given weigh 1.
func LossWeightsFromMap(m map[string]float64) ([5]float32, error) {
	var w [5]float32
	known := map[string]bool{}
	for i, n := range graphs.LossNames {
		known[n] = true
		w[i] = 1
		if v, ok := m[n]; ok {
			if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
				return w, fmt.Errorf("loss_weights.%s = %v: want a finite value >= 0", n, v)
			}
			w[i] = float32(v)
		}
	}
	for n := range m {
		if !known[n] {
			return w, fmt.Errorf("loss_weights.%s: unknown loss (want one of %v)", n, graphs.LossNames)
		}
	}
	return w, nil
}
