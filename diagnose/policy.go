package diagnose

import "fmt"

// Plateau policies (config diagnose.on_plateau).
const (
	PolicyWarn      = "warn"
	PolicyReduceLR  = "reduce_lr"
	PolicyNextStage = "next_stage"
	PolicyStop      = "stop"
)

// Action is what the plateau policy asks the training loop to do.
type Action struct {
	Kind   string  // "" (nothing), or one of the Policy* names
	Factor float64 // reduce_lr: multiply the stage's learning rate by this
	Step   int64   // the step the decision was taken at
	Stage  int
	// Since is the step the plateau was first seen at.
	Since int64
}

func (a Action) String() string {
	switch a.Kind {
	case "":
		return "none"
	case PolicyReduceLR:
		return fmt.Sprintf("reduce_lr ×%g at step %d (plateau since step %d)", a.Factor, a.Step, a.Since)
	}
	return fmt.Sprintf("%s at step %d (plateau since step %d)", a.Kind, a.Step, a.Since)
}

// Policy decides what to do about a plateau, like Keras'
// ReduceLROnPlateau: the plateau must last Patience steps before the
// policy acts, after which it waits Cooldown steps before it watches
// again. A new stage starts afresh.
type Policy struct {
	Mode     string
	Factor   float64
	Patience int64
	Cooldown int64

	stage         int
	plateauSince  int64 // -1: no plateau
	cooldownUntil int64
	started       bool
}

// NewPolicy returns a policy in the given mode (warn when empty).
func NewPolicy(mode string, factor float64, patience, cooldown int64) (*Policy, error) {
	switch mode {
	case "":
		mode = PolicyWarn
	case PolicyWarn, PolicyReduceLR, PolicyNextStage, PolicyStop:
	default:
		return nil, fmt.Errorf("diagnose.on_plateau %q: want warn, reduce_lr, next_stage or stop", mode)
	}
	if mode == PolicyReduceLR && !(factor > 0 && factor < 1) {
		return nil, fmt.Errorf("diagnose.factor %v: reduce_lr needs a factor in (0, 1), e.g. 0.1", factor)
	}
	if patience < 0 || cooldown < 0 {
		return nil, fmt.Errorf("diagnose.patience %d and diagnose.cooldown %d must be >= 0", patience, cooldown)
	}
	return &Policy{Mode: mode, Factor: factor, Patience: patience, Cooldown: cooldown, plateauSince: -1}, nil
}

// Observe takes whether the current stage is on a plateau at step and
// returns the action due, if any.
func (p *Policy) Observe(step int64, stage int, plateau bool) Action {
	if !p.started || stage != p.stage {
		p.started, p.stage, p.plateauSince, p.cooldownUntil = true, stage, -1, 0
	}
	if step < p.cooldownUntil {
		return Action{}
	}
	if !plateau {
		p.plateauSince = -1
		return Action{}
	}
	if p.plateauSince < 0 {
		p.plateauSince = step
	}
	if step-p.plateauSince < p.Patience {
		return Action{}
	}
	a := Action{Kind: p.Mode, Step: step, Stage: stage, Since: p.plateauSince}
	if p.Mode == PolicyReduceLR {
		a.Factor = p.Factor
	}
	p.plateauSince = -1
	p.cooldownUntil = step + p.Cooldown
	return a
}
