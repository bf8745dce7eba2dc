package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/graftrain/graftrain/checkpoints"
	"github.com/graftrain/graftrain/graphs"
	"github.com/graftrain/graftrain/train"
	"github.com/graftrain/graftrain/train/tensorboard"
)

// checkpointHook writes a checkpoint every n steps, on the last step and
// when the loop stops early (a signal or an error other than the
// non-finite stop), plus ckpt-0 at the start of a fresh run so that the
// non-finite guard always has a checkpoint to go back to.
type checkpointHook struct {
	mgr     *checkpoints.Manager
	every   int64
	hash    string
	dryRun  bool
	metrics *train.MetricsFile

	last     checkpoints.Meta
	lastInfo *train.StepInfo
	lastVal  *train.EvalSummary
	lastCOCO *train.COCOSummary
	saved    int64 // step of the last checkpoint written or resumed
	writes   []time.Duration
}

func (c *checkpointHook) hook() train.Hook {
	return train.Hook{
		Name:     "checkpoint",
		Priority: train.PriorityCheckpoint,
		OnStart: func(ctx context.Context, l *train.Loop) error {
			if c.saved >= 0 {
				return nil
			}
			return c.save(ctx, l, nil)
		},
		OnStep: func(ctx context.Context, l *train.Loop, info *train.StepInfo) error {
			if info.Val != nil {
				c.lastVal = info.Val
			}
			if info.COCO != nil {
				c.lastCOCO = info.COCO
			}
			c.lastInfo = info
			if info.NonFinite {
				return nil
			}
			if info.Last || (c.every > 0 && info.Step%c.every == 0) {
				return c.save(ctx, l, info)
			}
			return nil
		},
		OnEnd: func(ctx context.Context, l *train.Loop, runErr error) error {
			var nf *train.NonFiniteError
			if runErr == nil || errors.As(runErr, &nf) || l.State.Step == c.saved {
				return nil
			}
			if c.lastInfo != nil && c.lastInfo.NonFinite {
				// The model is at the restored checkpoint, not at this step.
				return nil
			}
			return c.save(ctx, l, c.lastInfo)
		},
	}
}

func (c *checkpointHook) save(ctx context.Context, l *train.Loop, info *train.StepInfo) error {
	if err := c.metrics.Sync(); err != nil {
		return err
	}
	st := l.State
	meta := checkpoints.Meta{
		Step:           st.Step,
		Data:           checkpoints.Position{Epoch: st.Data.Epoch, Index: st.Data.Index, Seed: st.Data.Seed},
		NonFiniteRun:   st.NonFiniteRun,
		NonFiniteTotal: st.NonFiniteTotal,
		ConfigHash:     c.hash,
		DryRun:         c.dryRun,
		Metrics:        map[string]float64{},
	}
	si, k, ok := l.Plan.At(st.Step)
	if !ok { // past the end: the last stage, finished
		si = len(l.Plan.Stages) - 1
		k = l.Plan.Stages[si].Steps
	}
	meta.StageIndex, meta.StageStep, meta.Stage = si, k, l.Plan.Stages[si].Name
	meta.Epoch = int(st.Step / l.Plan.StepsPerEpoch)
	if info != nil {
		meta.ModelStep = info.Result.Step
		meta.Metrics["total_loss"] = float64(info.Result.TotalLoss)
		for i, n := range graphs.LossNames {
			meta.Metrics[n] = float64(info.Result.Losses[i])
		}
	}
	if c.lastVal != nil {
		meta.Metrics["val_total_loss"] = c.lastVal.TotalLoss
		meta.Metrics["val_step"] = float64(c.lastVal.Step)
	}
	if c.lastCOCO != nil {
		// bbox_ap, segm_ap, ...: checkpoint.best_metric may rank by them.
		for k, v := range c.lastCOCO.Stats {
			meta.Metrics[k] = v
		}
		meta.Metrics["eval_step"] = float64(c.lastCOCO.Step)
	}
	t0 := time.Now()
	m, err := c.mgr.Save(ctx, meta, l.Runner.Save)
	if err != nil {
		return err
	}
	c.writes = append(c.writes, time.Since(t0))
	c.last, c.saved = m, st.Step
	l.Log.Info().Int64("step", st.Step).Str("checkpoint", m.Name).Dur("took", time.Since(t0)).Msg("checkpoint written")
	return nil
}

// restore is the non-finite guard's way back: the last checkpoint written
// or resumed from.
func (c *checkpointHook) restore(r train.Runner) train.RestoreFunc {
	return func(ctx context.Context) (string, error) {
		if c.last.Name == "" {
			return "", errors.New("no checkpoint written yet")
		}
		return c.last.Name, r.Restore(ctx, c.mgr.Prefix(c.last.Name))
	}
}

// tensorBoardHook writes each step's scalars to an event file.
func tensorBoardHook(dir string) train.Hook {
	var w *tensorboard.Writer
	var vals []tensorboard.Scalar
	return train.Hook{
		Name:     "tensorboard",
		Priority: train.PriorityTensorBoard,
		OnStart: func(ctx context.Context, l *train.Loop) error {
			var err error
			if w, err = tensorboard.Create(dir, ""); err != nil {
				return err
			}
			if l.State.Step > 0 {
				return w.Start(l.State.Step)
			}
			return nil
		},
		OnStep: func(ctx context.Context, l *train.Loop, info *train.StepInfo) error {
			vals = vals[:0]
			add := func(tag string, v float64) { vals = append(vals, tensorboard.Scalar{Tag: tag, Value: v}) }
			r := &info.Result
			if !info.NonFinite {
				for i, n := range graphs.LossNames {
					add("loss/"+n, float64(r.Losses[i]))
				}
				add("loss/total", float64(r.TotalLoss))
				add("grad_norm/global", float64(r.GradNorm))
				for g, v := range train.GroupNorms(l.Plan, r.VarGradNorms) {
					add("grad_norm/"+g, v)
				}
				for g, v := range train.GroupNorms(l.Plan, r.VarUpdateNorms) {
					add("update_norm/"+g, v)
				}
			}
			add("lr", float64(info.Params.LearningRate))
			add("time/step_s", info.StepTime.Seconds())
			add("time/data_wait_s", info.DataWait.Seconds())
			if v := info.Val; v != nil {
				for i, n := range graphs.LossNames {
					add("val/"+n, v.Losses[i])
				}
				add("val/total", v.TotalLoss)
			}
			if c := info.COCO; c != nil {
				for k, v := range c.Stats {
					add("eval/"+k, v)
				}
			}
			sortScalars(vals)
			if err := w.Scalars(info.Step, vals); err != nil {
				return err
			}
			return w.Flush()
		},
		OnEnd: func(ctx context.Context, l *train.Loop, runErr error) error {
			if w == nil {
				return nil
			}
			return w.Close()
		},
	}
}

func sortScalars(v []tensorboard.Scalar) {
	// Map iteration order must not leak into the file: sort by tag.
	for i := 1; i < len(v); i++ {
		for j := i; j > 0 && v[j].Tag < v[j-1].Tag; j-- {
			v[j], v[j-1] = v[j-1], v[j]
		}
	}
}

// progressHook redraws one terminal line: stage, step, loss, LR, speed, ETA.
func progressHook(out io.Writer) train.Hook {
	var t0 time.Time
	var s0 int64
	var last time.Time
	return train.Hook{
		Name:     "progress",
		Priority: train.PriorityProgress,
		OnStart: func(ctx context.Context, l *train.Loop) error {
			t0, s0 = time.Now(), l.State.Step
			return nil
		},
		OnStep: func(ctx context.Context, l *train.Loop, info *train.StepInfo) error {
			now := time.Now()
			if now.Sub(last) < 100*time.Millisecond && !info.Last {
				return nil
			}
			last = now
			end := l.EndStep()
			rate := float64(info.Step-s0) / now.Sub(t0).Seconds()
			eta := "?"
			if rate > 0 && !math.IsInf(rate, 0) {
				eta = time.Duration(float64(end-info.Step) / rate * float64(time.Second)).Round(time.Second).String()
			}
			fmt.Fprintf(out, "\r%s %d/%d  step %d/%d  loss %.4f  lr %.3g  %.1f steps/s  ETA %s   ",
				info.Stage.Name, info.StageStep+1, info.Stage.Steps, info.Step, end,
				info.Result.TotalLoss, info.Params.LearningRate, rate, eta)
			return nil
		},
		OnEnd: func(ctx context.Context, l *train.Loop, runErr error) error {
			fmt.Fprintln(out)
			return nil
		},
	}
}
