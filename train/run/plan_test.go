package run

import (
	"testing"

	"github.com/graftrain/graftrain/train"
	"github.com/graftrain/graftrain/train/stage"
	"github.com/graftrain/graftrain/train/standin"
)

func TestPlanFromConfig(t *testing.T) {
	cfg := testConfig(t)
	cfg.Stages[0].Steps, cfg.Stages[0].Epochs = 0, 2 // 2 epochs of 3 steps
	cfg.Stages[1].RPNMinProposalSize = 4
	sp, err := stage.Build(cfg, standin.SampleManifest())
	if err != nil {
		t.Fatal(err)
	}
	p, err := Plan(cfg, sp, 100, []string{train.OptClipNorm, train.OptRPNMinProposalSize})
	if err != nil {
		t.Fatal(err)
	}
	if p.StepsPerEpoch != 3 || p.Stages[0].Steps != 6 || p.Stages[1].Steps != 7 || p.TotalSteps() != 13 {
		t.Errorf("steps per epoch %d, stage steps %d %d", p.StepsPerEpoch, p.Stages[0].Steps, p.Stages[1].Steps)
	}
	// Only declared optional inputs are fed.
	if o := p.Stages[1].Optional; len(o) != 2 || o[train.OptClipNorm] != 5 || o[train.OptRPNMinProposalSize] != 4 {
		t.Errorf("optional inputs %v", o)
	}
	// The multiplier vector is stage.Build's, unchanged.
	for i := range sp.Stages {
		if &p.Stages[i].Multipliers[0] != &sp.Stages[i].Multipliers[0] {
			t.Errorf("stage %d: multipliers copied instead of taken from the stage plan", i)
		}
	}
	// steps_per_epoch 0: the split's length sets the epoch.
	cfg.Train.StepsPerEpoch = 0
	if p, err = Plan(cfg, sp, 10, nil); err != nil || p.Stages[0].Steps != 20 {
		t.Errorf("epoch from the split: %v, %v", p, err)
	}
	// Errors name the stage.
	cfg.Stages[1].LRSchedule = "exponential"
	if _, err := Plan(cfg, sp, 10, nil); err == nil {
		t.Error("unknown schedule accepted")
	}
}
