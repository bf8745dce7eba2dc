package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/rs/zerolog"

	"github.com/graftrain/graftrain/data/batch"
)

// ErrInterrupted is returned by Run when the context was cancelled (a
// signal): the current step finished and the OnEnd hooks (the final
// checkpoint among them) ran.
var ErrInterrupted = errors.New("training interrupted")

// State is the loop's resumable position. A checkpoint stores it; a
// resumed run sets Loop.State before Run.
type State struct {
	Step           int64        `json:"step"` // global steps completed
	Data           DataPosition `json:"data"`
	NonFiniteRun   int          `json:"nonfinite_run"`   // consecutive non-finite steps
	NonFiniteTotal int          `json:"nonfinite_total"` // over the whole run
}

// StepInfo describes one finished step to the hooks.
type StepInfo struct {
	Step       int64 // global step count after this step (1-based)
	StageIndex int
	Stage      *Stage
	StageStep  int64 // 0-based step within the stage
	Epoch      int   // 0-based epoch the step belongs to
	EpochEnd   bool  // the step completes an epoch
	Last       bool  // the last step of the plan (or of train.max_steps)
	Params     StepParams
	Result     StepResult
	Batch      *batch.Batch
	NonFinite  bool // a loss or the total is NaN or Inf: the step is discarded
	DataWait   time.Duration
	StepTime   time.Duration
	// Val is set by the validation hook on steps it validated.
	Val *EvalSummary
	// COCO is set by the COCO evaluation hook on steps it evaluated.
	COCO *COCOSummary
}

// EvalSummary is one validation pass: mean losses over the batches seen.
type EvalSummary struct {
	Step      int64
	Losses    [5]float64
	Weighted  [5]float64
	TotalLoss float64
	Batches   int
	Duration  time.Duration
}

// COCOSummary is one COCO evaluation pass through predict on the
// validation split.
type COCOSummary struct {
	Step int64
	// Stats are the summary numbers by name: bbox_ap, bbox_ap50, ...,
	// segm_ar_large (-1 where the images have no object of a setting, as
	// pycocotools prints it).
	Stats      map[string]float64
	Images     int
	Detections int
	Duration   time.Duration
}

// Loop runs the steps of a plan through a Runner and hands each result to
// its hooks. It holds no other behaviour.
type Loop struct {
	Runner Runner
	Plan   *Plan
	Train  Dataset
	// MaxSteps caps the global step count (0: the plan's total).
	MaxSteps int64
	Log      zerolog.Logger
	// State is the position to start from (zero: a fresh run).
	State State

	hooks   hookList
	it      Batches
	stopErr error
}

// Stop asks the loop to stop after the current step, once every hook has
// seen it; Run then returns err.
func (l *Loop) Stop(err error) {
	if l.stopErr == nil {
		l.stopErr = err
	}
}

// AddHook attaches h.
func (l *Loop) AddHook(h Hook) { l.hooks = append(l.hooks, h) }

// EndStep is the global step count the run stops at.
func (l *Loop) EndStep() int64 {
	n := l.Plan.TotalSteps()
	if l.MaxSteps > 0 && l.MaxSteps < n {
		n = l.MaxSteps
	}
	return n
}

// Run trains until the plan (or MaxSteps) is done, a hook fails or ctx is
// cancelled. A step in progress when ctx is cancelled completes; the loop
// then stops and returns ErrInterrupted. OnEnd hooks always run.
func (l *Loop) Run(ctx context.Context) (err error) {
	hooks := l.hooks.sorted()
	defer func() {
		if l.it != nil {
			if cerr := l.it.Close(); cerr != nil && err == nil {
				err = fmt.Errorf("close training batches: %w", cerr)
			}
			l.it = nil
		}
		endCtx := context.WithoutCancel(ctx)
		var errs []error
		for _, h := range hooks {
			if h.OnEnd == nil {
				continue
			}
			if herr := h.OnEnd(endCtx, l, err); herr != nil {
				errs = append(errs, &HookError{Hook: h.Name, Phase: "end", Err: herr})
			}
		}
		if len(errs) > 0 {
			err = errors.Join(append([]error{err}, errs...)...)
		}
	}()
	for _, h := range hooks {
		if h.OnStart == nil {
			continue
		}
		if err := h.OnStart(ctx, l); err != nil {
			return &HookError{Hook: h.Name, Phase: "start", Err: err}
		}
	}
	end := l.EndStep()
	stage := -1
	for l.State.Step < end {
		if ctx.Err() != nil {
			return fmt.Errorf("%w at step %d: %w", ErrInterrupted, l.State.Step, context.Cause(ctx))
		}
		si, k, _ := l.Plan.At(l.State.Step)
		if si != stage {
			stage = si
			for _, h := range hooks {
				if h.OnStageStart == nil {
					continue
				}
				if err := h.OnStageStart(ctx, l, si); err != nil {
					return &HookError{Hook: h.Name, Phase: "stage_start", Err: err}
				}
			}
		}
		t0 := time.Now()
		b, err := l.next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("%w at step %d: %w", ErrInterrupted, l.State.Step, context.Cause(ctx))
			}
			return fmt.Errorf("step %d: next training batch: %w", l.State.Step+1, err)
		}
		t1 := time.Now()
		params, _ := l.Plan.Params(l.State.Step)
		// The step itself is not cancelled: a signal lets it finish.
		res, err := l.Runner.Step(context.WithoutCancel(ctx), b, params)
		if err != nil {
			return fmt.Errorf("step %d (stage %s): %w", l.State.Step+1, l.Plan.Stages[si].Name, err)
		}
		t2 := time.Now()
		l.State.Step++
		info := StepInfo{
			Step:       l.State.Step,
			StageIndex: si,
			Stage:      &l.Plan.Stages[si],
			StageStep:  k,
			Epoch:      int((l.State.Step - 1) / l.Plan.StepsPerEpoch),
			EpochEnd:   l.State.Step%l.Plan.StepsPerEpoch == 0,
			Last:       l.State.Step == end,
			Params:     params,
			Result:     res,
			Batch:      b,
			NonFinite:  !finite(res),
			DataWait:   t1.Sub(t0),
			StepTime:   t2.Sub(t1),
		}
		if info.NonFinite {
			l.State.NonFiniteRun++
			l.State.NonFiniteTotal++
		} else {
			l.State.NonFiniteRun = 0
		}
		for _, h := range hooks {
			if h.OnStep == nil {
				continue
			}
			if err := h.OnStep(ctx, l, &info); err != nil {
				l.release(b)
				return &HookError{Hook: h.Name, Phase: "step", Err: err}
			}
		}
		l.release(b)
		if l.stopErr != nil {
			return l.stopErr
		}
	}
	return nil
}

// next returns the next training batch, moving to the next data epoch at
// the end of one.
func (l *Loop) next(ctx context.Context) (*batch.Batch, error) {
	for range 2 {
		if l.it == nil {
			it, err := l.Train.Open(ctx, l.State.Data)
			if err != nil {
				return nil, fmt.Errorf("open data epoch %d at batch %d: %w", l.State.Data.Epoch, l.State.Data.Index, err)
			}
			l.it = it
		}
		b, err := l.it.Next(ctx)
		if err == nil {
			if p, ok := l.it.(Positioner); ok {
				seed := l.State.Data.Seed
				l.State.Data = p.Position()
				l.State.Data.Seed = seed
			} else {
				l.State.Data.Index++
			}
			return b, nil
		}
		if !errors.Is(err, io.EOF) {
			return nil, err
		}
		if cerr := l.it.Close(); cerr != nil {
			return nil, cerr
		}
		l.it = nil
		l.State.Data.Epoch++
		l.State.Data.Index = 0
	}
	return nil, fmt.Errorf("data epoch %d has no batches", l.State.Data.Epoch)
}

func (l *Loop) release(b *batch.Batch) {
	if r, ok := l.it.(Releaser); ok && l.it != nil {
		r.Release(b)
	}
}

func finite(r StepResult) bool {
	for _, v := range r.Losses {
		if !finite32(v) {
			return false
		}
	}
	return finite32(r.TotalLoss)
}

func finite32(v float32) bool {
	f := float64(v)
	return !math.IsNaN(f) && !math.IsInf(f, 0)
}
