// Package schedule owns learning-rate schedules: the base LR of a stage as a
// function of the step within that stage (constant, step decay, cosine),
// optionally preceded by a linear warm-up.
package schedule

import (
	"fmt"
	"math"
)

// Kinds of schedule, as written in a stage's lr_schedule key.
const (
	Constant = "constant"
	Step     = "step"
	Cosine   = "cosine"
)

// Schedule gives the learning rate for a 0-based step within a stage.
type Schedule struct {
	Kind        string
	Base        float64 // learning rate at the end of warm-up
	Steps       int64   // steps in the stage (cosine decays over them)
	DecaySteps  int64   // step: multiply by DecayFactor every DecaySteps
	DecayFactor float64
	Warmup      int64 // linear warm-up from Base/Warmup to Base over these steps
	// MinFactor is the cosine floor as a fraction of Base (0 decays to 0).
	MinFactor float64
}

// Validate names the first field that makes the schedule unusable.
func (s Schedule) Validate() error {
	switch {
	case s.Kind != Constant && s.Kind != Step && s.Kind != Cosine && s.Kind != "":
		return fmt.Errorf("lr_schedule %q: want constant, step or cosine", s.Kind)
	case s.Base < 0 || math.IsNaN(s.Base) || math.IsInf(s.Base, 0):
		return fmt.Errorf("learning_rate %v: want a finite value >= 0", s.Base)
	case s.Kind == Step && s.DecaySteps <= 0:
		return fmt.Errorf("lr_schedule step needs lr_decay_steps > 0 (got %d)", s.DecaySteps)
	case s.Kind == Step && (s.DecayFactor <= 0 || s.DecayFactor > 1):
		return fmt.Errorf("lr_decay_factor %v: want a value in (0, 1]", s.DecayFactor)
	case s.Warmup < 0:
		return fmt.Errorf("warmup_steps %d: want >= 0", s.Warmup)
	}
	return nil
}

// LR returns the learning rate for step (0-based within the stage).
// Warm-up ramps linearly: step k < Warmup gets Base*(k+1)/Warmup, so the
// first step never runs at LR 0 and step Warmup-1 reaches Base. The decay
// that follows counts steps after warm-up.
func (s Schedule) LR(step int64) float64 {
	if step < 0 {
		step = 0
	}
	if step < s.Warmup {
		return s.Base * float64(step+1) / float64(s.Warmup)
	}
	k := step - s.Warmup
	switch s.Kind {
	case Step:
		if s.DecaySteps <= 0 {
			return s.Base
		}
		return s.Base * math.Pow(s.DecayFactor, float64(k/s.DecaySteps))
	case Cosine:
		n := s.Steps - s.Warmup
		if n <= 1 {
			return s.Base
		}
		if k >= n {
			k = n - 1
		}
		c := 0.5 * (1 + math.Cos(math.Pi*float64(k)/float64(n-1)))
		return s.Base * (s.MinFactor + (1-s.MinFactor)*c)
	default:
		return s.Base
	}
}
