package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Validation is the hook that runs eval_step over the validation split
// every n steps (n <= 0: at each epoch end) and on the last step, for at
// most maxBatches batches (0: the whole split). It sets StepInfo.Val for
// the hooks after it. Steps whose loss was non-finite are not validated,
// nor is any step once ctx is cancelled (a signal: the run is stopping).
func Validation(val Dataset, seed int64, n, maxBatches int64) Hook {
	return Hook{
		Name:     "validation",
		Priority: PriorityValidation,
		OnStep: func(ctx context.Context, l *Loop, info *StepInfo) error {
			due := info.Last || (n > 0 && info.Step%n == 0) || (n <= 0 && info.EpochEnd)
			if !due || info.NonFinite || ctx.Err() != nil {
				return nil
			}
			s, err := Evaluate(context.WithoutCancel(ctx), l.Runner, val, seed, maxBatches, info.Stage.LossWeights)
			if err != nil {
				return fmt.Errorf("validation at step %d: %w", info.Step, err)
			}
			s.Step = info.Step
			info.Val = s
			l.Log.Info().Int64("step", info.Step).Float64("val_total_loss", s.TotalLoss).Int("batches", s.Batches).
				Dur("took", s.Duration).Msg("validation")
			return nil
		},
	}
}

// Evaluate runs r.Eval over the first maxBatches batches (0: all) of the
// split's epoch 0 and returns the mean losses.
func Evaluate(ctx context.Context, r Runner, ds Dataset, seed, maxBatches int64, lw [5]float32) (*EvalSummary, error) {
	t0 := time.Now()
	it, err := ds.Open(ctx, DataPosition{Seed: seed})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	s := &EvalSummary{}
	for maxBatches <= 0 || int64(s.Batches) < maxBatches {
		b, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		res, err := r.Eval(ctx, b, lw)
		if rel, ok := it.(Releaser); ok {
			rel.Release(b)
		}
		if err != nil {
			return nil, err
		}
		for k := range 5 {
			s.Losses[k] += float64(res.Losses[k])
		}
		s.TotalLoss += float64(res.TotalLoss)
		s.Batches++
	}
	if s.Batches == 0 {
		return nil, errors.New("the validation split has no batches")
	}
	n := float64(s.Batches)
	for k := range 5 {
		s.Losses[k] /= n
		s.Weighted[k] = s.Losses[k] * float64(lw[k])
	}
	s.TotalLoss /= n
	s.Duration = time.Since(t0)
	return s, nil
}
