package run

import (
	"errors"
	"fmt"

	"github.com/graftrain/graftrain/config"
	"github.com/graftrain/graftrain/train"
	"github.com/graftrain/graftrain/train/schedule"
	"github.com/graftrain/graftrain/train/stage"
)

// Plan turns the config's stages, resolved by stage.Build (the code
// `graftrain plan` prints, so the multipliers fed are the ones shown),
// into the loop's plan. batchesPerEpoch is the training split's length in
// batches; it sets the epoch unless train.steps_per_epoch does.
// optionalInputs names the optional inputs the model declares.
func Plan(cfg *config.Config, sp *stage.Plan, batchesPerEpoch int64, optionalInputs []string) (*train.Plan, error) {
	if len(sp.Stages) != len(cfg.Stages) {
		return nil, fmt.Errorf("plan: %d stages in the config but %d resolved", len(cfg.Stages), len(sp.Stages))
	}
	spe := cfg.Train.StepsPerEpoch
	if spe <= 0 {
		spe = batchesPerEpoch
	}
	if spe <= 0 {
		return nil, errors.New("plan: the epoch is empty: the training split has no batches and train.steps_per_epoch is 0")
	}
	declared := map[string]bool{}
	for _, n := range optionalInputs {
		declared[n] = true
	}
	p := &train.Plan{StepsPerEpoch: spe, Groups: sp.GroupNames(), GroupOf: sp.GroupOf}
	var errs []error
	for i, sc := range cfg.Stages {
		key := fmt.Sprintf("stages.%d", i)
		steps := sc.Steps
		if steps <= 0 {
			steps = int64(sc.Epochs) * spe
		}
		if steps <= 0 {
			errs = append(errs, fmt.Errorf("%s (%s): give epochs or steps > 0", key, sc.Name))
		}
		s := schedule.Schedule{
			Kind:        sc.LRSchedule,
			Base:        sc.LearningRate,
			Steps:       steps,
			DecaySteps:  sc.LRDecaySteps,
			DecayFactor: sc.LRDecayFactor,
			Warmup:      sc.WarmupSteps,
		}
		if err := s.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s (%s): %w", key, sc.Name, err))
		}
		rs := sp.Stages[i]
		if len(rs.Multipliers) != len(sp.GroupOf) {
			errs = append(errs, fmt.Errorf("%s (%s): %d multipliers for %d variables", key, sc.Name, len(rs.Multipliers), len(sp.GroupOf)))
		}
		opt := map[string]float32{}
		add := func(name string, v float64) {
			if declared[name] {
				opt[name] = float32(v)
			}
		}
		add(train.OptWeightDecay, cfg.Optimizer.WeightDecay)
		add(train.OptMomentum, cfg.Optimizer.Momentum)
		add(train.OptClipNorm, cfg.Optimizer.ClipNorm)
		add(train.OptRPNMinProposalSize, sc.RPNMinProposalSize)
		p.Stages = append(p.Stages, train.Stage{
			Name:        sc.Name,
			Steps:       steps,
			Schedule:    s,
			Multipliers: rs.Multipliers,
			LossWeights: rs.LossWeights,
			Optional:    opt,
		})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return p, nil
}

// Unfed lists the settings the config gives that the model cannot take,
// because its train_step lacks the optional input, one sentence each: a
// stage's rpn_min_proposal_size above 0, and optimizer.weight_decay,
// momentum or clip_norm set anywhere but the defaults. The model then
// trains with the value fixed at export, which the user should know.
func Unfed(cfg *config.Config, optionalInputs []string) []string {
	declared := map[string]bool{}
	for _, n := range optionalInputs {
		declared[n] = true
	}
	var out []string
	if !declared[train.OptRPNMinProposalSize] {
		for i, sc := range cfg.Stages {
			if sc.RPNMinProposalSize > 0 {
				out = append(out, fmt.Sprintf("stages.%d.rpn_min_proposal_size (%s) is %g but the model has no rpn_min_proposal_size input, so proposals are not filtered by size; re-export with a proposal layer that takes it (docs/exporting.md) or set it to 0", i, sc.Name, sc.RPNMinProposalSize))
			}
		}
	}
	for _, o := range []struct {
		input, key string
	}{
		{train.OptWeightDecay, "optimizer.weight_decay"},
		{train.OptMomentum, "optimizer.momentum"},
		{train.OptClipNorm, "optimizer.clip_norm"},
	} {
		if declared[o.input] {
			continue
		}
		if src := cfg.Source(o.key); src.Layer != config.LayerDefault {
			out = append(out, fmt.Sprintf("%s is set (%s) but the model has no %s input: it trains with the value fixed at export", o.key, src, o.input))
		}
	}
	return out
}
