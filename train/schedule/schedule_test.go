package schedule

import (
	"math"
	"testing"
)

func TestLR(t *testing.T) {
	tests := []struct {
		name string
		s    Schedule
		step int64
		want float64
	}{
		{"constant", Schedule{Kind: Constant, Base: 0.01}, 1000, 0.01},
		{"empty kind is constant", Schedule{Base: 0.02}, 7, 0.02},
		{"step before first decay", Schedule{Kind: Step, Base: 1, DecaySteps: 10, DecayFactor: 0.5}, 9, 1},
		{"step at first decay", Schedule{Kind: Step, Base: 1, DecaySteps: 10, DecayFactor: 0.5}, 10, 0.5},
		{"step twice decayed", Schedule{Kind: Step, Base: 1, DecaySteps: 10, DecayFactor: 0.5}, 25, 0.25},
		{"cosine start", Schedule{Kind: Cosine, Base: 2, Steps: 11}, 0, 2},
		{"cosine middle", Schedule{Kind: Cosine, Base: 2, Steps: 11}, 5, 1},
		{"cosine end", Schedule{Kind: Cosine, Base: 2, Steps: 11}, 10, 0},
		{"cosine past end stays at floor", Schedule{Kind: Cosine, Base: 2, Steps: 11}, 50, 0},
		{"cosine floor", Schedule{Kind: Cosine, Base: 2, Steps: 11, MinFactor: 0.1}, 10, 0.2},
		{"warmup first step", Schedule{Kind: Constant, Base: 1, Warmup: 4}, 0, 0.25},
		{"warmup last step", Schedule{Kind: Constant, Base: 1, Warmup: 4}, 3, 1},
		{"warmup then step decay counts after warmup", Schedule{Kind: Step, Base: 1, Warmup: 5, DecaySteps: 10, DecayFactor: 0.1}, 14, 1},
		{"warmup then step decay", Schedule{Kind: Step, Base: 1, Warmup: 5, DecaySteps: 10, DecayFactor: 0.1}, 15, 0.1},
		{"warmup then cosine middle", Schedule{Kind: Cosine, Base: 1, Steps: 9, Warmup: 4}, 6, 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.s.LR(tt.step); math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("LR(%d) = %v, want %v", tt.step, got, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	bad := []Schedule{
		{Kind: "linear", Base: 1},
		{Kind: Constant, Base: -1},
		{Kind: Constant, Base: math.NaN()},
		{Kind: Step, Base: 1, DecayFactor: 0.1},
		{Kind: Step, Base: 1, DecaySteps: 5, DecayFactor: 0},
		{Kind: Constant, Base: 1, Warmup: -2},
	}
	for _, s := range bad {
		if err := s.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", s)
		}
	}
	good := []Schedule{{Kind: Constant, Base: 0}, {Kind: Step, Base: 1, DecaySteps: 1, DecayFactor: 1}, {Kind: Cosine, Base: 1, Steps: 3}}
	for _, s := range good {
		if err := s.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v", s, err)
		}
	}
}
