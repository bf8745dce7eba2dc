package run

import (
	"strings"
	"testing"

	"github.com/graftrain/graftrain/config"
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

func TestUnfed(t *testing.T) {
	all := []string{train.OptWeightDecay, train.OptMomentum, train.OptClipNorm, train.OptRPNMinProposalSize}
	tests := []struct {
		name     string
		sets     []string
		declared []string
		want     []string // substrings, in order
	}{
		{name: "defaults, bare model", declared: nil},
		{name: "every input declared", sets: []string{"stages.1.rpn_min_proposal_size=4", "optimizer.momentum=0.8"}, declared: all},
		{name: "proposal size without the input", sets: []string{"stages.1.rpn_min_proposal_size=4"}, declared: []string{train.OptClipNorm},
			want: []string{"stages.1.rpn_min_proposal_size (all) is 4 but the model has no rpn_min_proposal_size input"}},
		{name: "optimizer keys set, not declared", sets: []string{"optimizer.momentum=0.8", "optimizer.clip_norm=1"}, declared: []string{train.OptClipNorm},
			want: []string{"optimizer.momentum is set (--set optimizer.momentum=0.8) but the model has no momentum input"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Load(config.Sources{Sets: append([]string{"stages=[{name: heads, layers: heads, steps: 5}, {name: all, layers: all, steps: 5}]"}, tt.sets...)})
			if err != nil {
				t.Fatal(err)
			}
			got := Unfed(cfg, tt.declared)
			if len(got) != len(tt.want) {
				t.Fatalf("Unfed = %q, want %d matching %q", got, len(tt.want), tt.want)
			}
			for i := range got {
				if !strings.Contains(got[i], tt.want[i]) {
					t.Errorf("warning %d = %q, want it to contain %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}
