package train

import (
	"context"
	"fmt"
	"sort"
)

// Hook attaches behaviour to the loop. Each callback is optional. Hooks run
// in ascending Priority (ties in the order added); an error stops the run
// and comes back wrapped with the hook's name.
type Hook struct {
	Name     string
	Priority int
	// OnStart runs once before the first step (after any resume).
	OnStart func(ctx context.Context, l *Loop) error
	// OnStageStart runs before the first step of each stage the run
	// enters, including the stage a resumed run continues.
	OnStageStart func(ctx context.Context, l *Loop, stage int) error
	// OnStep runs after every step, in priority order, on the same info:
	// an earlier hook may add to it (validation sets Val).
	OnStep func(ctx context.Context, l *Loop, info *StepInfo) error
	// OnEnd runs once when the loop stops, with the reason it stopped (nil
	// when every step ran). Every OnEnd runs even when one fails.
	OnEnd func(ctx context.Context, l *Loop, runErr error) error
}

// Priorities of the standard hooks: the non-finite guard first, then
// validation (which fills StepInfo.Val), then the recorders, checkpoints
// and the progress line.
const (
	PriorityGuard       = 0
	PriorityValidation  = 10
	PriorityMetrics     = 20
	PriorityTensorBoard = 30
	PriorityCheckpoint  = 40
	PriorityProgress    = 50
)

// HookError is a hook's error with the hook's name and the phase.
type HookError struct {
	Hook  string
	Phase string // start, stage_start, step, end
	Err   error
}

func (e *HookError) Error() string {
	return fmt.Sprintf("hook %s (%s): %v", e.Hook, e.Phase, e.Err)
}

func (e *HookError) Unwrap() error { return e.Err }

// EverySteps wraps a step callback so it runs only every n global steps
// (n <= 0: never).
func EverySteps(n int64, fn func(ctx context.Context, l *Loop, info *StepInfo) error) func(context.Context, *Loop, *StepInfo) error {
	return func(ctx context.Context, l *Loop, info *StepInfo) error {
		if n <= 0 || info.Step%n != 0 {
			return nil
		}
		return fn(ctx, l, info)
	}
}

type hookList []Hook

func (h hookList) sorted() hookList {
	s := append(hookList(nil), h...)
	sort.SliceStable(s, func(i, j int) bool { return s[i].Priority < s[j].Priority })
	return s
}
