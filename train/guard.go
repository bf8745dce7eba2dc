package train

import (
	"context"
	"fmt"

	"github.com/graftrain/graftrain/graphs"
)

// NonFiniteError stops a run after too many consecutive non-finite steps.
// The model was restored to Checkpoint, the last good one, which stays on
// disk untouched.
type NonFiniteError struct {
	Steps      int     // consecutive non-finite steps
	LastStep   int64   // global step of the last one
	ImageIDs   []int64 // that step's batch
	Checkpoint string  // the checkpoint the model was restored to
}

func (e *NonFiniteError) Error() string {
	return fmt.Sprintf("%d consecutive steps with a non-finite loss (last: step %d, images %v); "+
		"the model is back at checkpoint %s. Likely causes: a learning rate too high for this stage "+
		"(lower learning_rate or add warmup_steps), clip_norm 0, or bad boxes in these images "+
		"(check them with graftrain data dump)", e.Steps, e.LastStep, e.ImageIDs, e.Checkpoint)
}

// RestoreFunc puts the model back to the last good checkpoint and returns
// that checkpoint's name.
type RestoreFunc func(ctx context.Context) (string, error)

// NonFiniteGuard is the hook that handles a step whose loss is NaN or Inf.
// A model that declares the contract's optional update_skipped output
// guards itself: when it reports the update skipped, its variables are
// untouched and the guard only counts and logs the step. Otherwise
// train_step has already applied the update (a NaN gradient poisons the
// weights and the momentum), so the guard restores the last checkpoint. The loop's step counter and
// data position keep going (the bad batch is not retried); the updates
// since that checkpoint are lost. After max consecutive non-finite steps
// it stops the run (after the other hooks have seen the step) with a
// NonFiniteError.
func NonFiniteGuard(restore RestoreFunc, max int) Hook {
	return Hook{
		Name:     "nonfinite",
		Priority: PriorityGuard,
		OnStep: func(ctx context.Context, l *Loop, info *StepInfo) error {
			if !info.NonFinite {
				return nil
			}
			ids := imageIDs(info)
			ck := "(none: the model skipped the update)"
			msg := "non-finite loss: step discarded by the model's own guard"
			if info.Result.Extra[graphs.OutputUpdateSkipped] != 1 {
				var err error
				if ck, err = restore(context.WithoutCancel(ctx)); err != nil {
					return fmt.Errorf("step %d has a non-finite loss and restoring the last checkpoint failed: %w", info.Step, err)
				}
				msg = "non-finite loss: step discarded, model restored to the last checkpoint"
			}
			ev := l.Log.Warn().Int64("step", info.Step).Ints64("image_ids", ids).
				Int("consecutive", l.State.NonFiniteRun).Int("total", l.State.NonFiniteTotal).
				Str("restored", ck)
			for k, n := range graphs.LossNames {
				ev = ev.Float32(n, info.Result.Losses[k])
			}
			ev.Float32("total_loss", info.Result.TotalLoss).Msg(msg)
			if max > 0 && l.State.NonFiniteRun >= max {
				// The other hooks still record this step; then the loop stops.
				l.Stop(&NonFiniteError{Steps: l.State.NonFiniteRun, LastStep: info.Step, ImageIDs: ids, Checkpoint: ck})
			}
			return nil
		},
	}
}

func imageIDs(info *StepInfo) []int64 {
	if info.Batch == nil {
		return nil
	}
	return append([]int64(nil), info.Batch.ImageIDs...)
}
