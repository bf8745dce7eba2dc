package run

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"

	"github.com/graftrain/graftrain/checkpoints"
	"github.com/graftrain/graftrain/checkpoints/bundle"
	"github.com/graftrain/graftrain/config"
	"github.com/graftrain/graftrain/data/batch"
	"github.com/graftrain/graftrain/diagnose"
	"github.com/graftrain/graftrain/graphs"
	"github.com/graftrain/graftrain/internal/fixtures"
	"github.com/graftrain/graftrain/train"
	"github.com/graftrain/graftrain/train/stage"
)

// noopRunner returns a fixed, finite result without computing anything, so
// the loop's own cost is all that remains.
type noopRunner struct {
	res  train.StepResult
	step int64
}

func (r *noopRunner) Step(ctx context.Context, b *batch.Batch, p train.StepParams) (train.StepResult, error) {
	r.step++
	r.res.Step = r.step
	return r.res, nil
}
func (r *noopRunner) Eval(context.Context, *batch.Batch, [5]float32) (train.EvalResult, error) {
	return train.EvalResult{}, nil
}
func (r *noopRunner) Predict(context.Context, *batch.Batch, []float32) (train.Prediction, error) {
	return train.Prediction{}, nil
}
func (r *noopRunner) Save(context.Context, string) error    { return nil }
func (r *noopRunner) Restore(context.Context, string) error { return nil }
func (r *noopRunner) Close() error                          { return nil }

// sameBatch hands out one preallocated batch forever: no data cost.
type sameBatch struct{ b *batch.Batch }

func (s *sameBatch) Len() int64 { return 1 << 40 }
func (s *sameBatch) Open(context.Context, train.DataPosition) (train.Batches, error) {
	return s, nil
}
func (s *sameBatch) Next(context.Context) (*batch.Batch, error) { return s.b, nil }
func (s *sameBatch) Close() error                               { return nil }

func matterportManifest(b *testing.B) *graphs.VariablesManifest {
	wd, _ := os.Getwd()
	root, ok := fixtures.Root(wd)
	if !ok {
		b.Skip("repository root not found")
	}
	m, err := stage.ReadManifest(filepath.Join(root, "examples", "matterport_resnet101_coco_variables.json"))
	if err != nil {
		b.Skip(err)
	}
	return m
}

// BenchmarkLoopStep measures graftrain's own cost per step: plan lookup,
// LR schedule, multiplier vector hand-off, the non-finite check, metrics
// row (group norms over the ~700 variables of matterport's ResNet-101
// Mask R-CNN) written to metrics.jsonl, the live diagnosis (its detectors
// over the rolling window, every 50 steps by default), TensorBoard event,
// log hook. The
// runner does nothing and the batch (2 × 1024² × 3) is reused, so neither
// model compute nor data loading is counted.
func BenchmarkLoopStep(b *testing.B) {
	man := matterportManifest(b)
	cfg, err := config.Load(config.Sources{})
	if err != nil {
		b.Fatal(err)
	}
	cfg.Stages[0].Steps = int64(b.N)
	sp, err := stage.Build(cfg, man)
	if err != nil {
		b.Fatal(err)
	}
	d := Dims(cfg)
	d.Size, d.Height, d.Width = 2, 1024, 1024
	V := len(man.Variables)
	r := &noopRunner{res: train.StepResult{Losses: [5]float32{1, 1, 1, 1, 1}, TotalLoss: 5, GradNorm: 1,
		VarGradNorms: make([]float32, V), VarUpdateNorms: make([]float32, V)}}
	for i := range V {
		r.res.VarGradNorms[i], r.res.VarUpdateNorms[i] = 0.1, 0.001
	}
	p, err := Plan(cfg, sp, 1<<40, []string{train.OptMomentum, train.OptWeightDecay, train.OptClipNorm})
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	l := &train.Loop{Runner: r, Plan: p, Train: &sameBatch{batch.New(d)}, Log: zerolog.New(io.Discard).Level(zerolog.InfoLevel)}
	mf := &train.MetricsFile{Path: filepath.Join(dir, MetricsFile)}
	l.AddHook(train.NonFiniteGuard(func(context.Context) (string, error) { return "", nil }, 5))
	l.AddHook(mf.Hook())
	mon, err := diagnose.NewMonitor(cfg.Diagnose)
	if err != nil {
		b.Fatal(err)
	}
	l.AddHook(train.LiveDiagnosis(mon, false))
	l.AddHook(tensorBoardHook(dir))
	l.AddHook(logHook())
	b.ReportAllocs()
	b.ResetTimer()
	if err := l.Run(context.Background()); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkCheckpointWrite measures one checkpoint through the manager
// (bundle write, fsyncs, renames, metadata, pointer, retention) with the
// tensors of matterport's ResNet-101 Mask R-CNN (every variable at its
// shape, and a momentum slot per trainable variable). "17MiB" caps each
// tensor at 16384 values; "489MiB" (the full model, set
// GRAFTRAIN_BENCH_FULL=1) writes the real sizes.
func BenchmarkCheckpointWrite(b *testing.B) {
	man := matterportManifest(b)
	caps := []struct {
		name string
		max  int64
	}{{"17MiB", 16384}}
	if os.Getenv("GRAFTRAIN_BENCH_FULL") != "" {
		caps = append(caps, struct {
			name string
			max  int64
		}{"489MiB", 1 << 40})
	}
	for _, c := range caps {
		b.Run(c.name, func(b *testing.B) {
			var largest int64
			for _, v := range man.Variables {
				largest = max(largest, min(elements(v.Shape), c.max))
			}
			buf := make([]float32, largest)
			for i := range buf {
				buf[i] = float32(i%1000) * 1e-3
			}
			save := func(ctx context.Context, prefix string) error {
				w, err := bundle.NewWriter(prefix)
				if err != nil {
					return err
				}
				for _, v := range man.Variables {
					n := min(elements(v.Shape), c.max)
					shape := v.Shape
					if n != elements(v.Shape) {
						shape = []int64{n}
					}
					if err := w.AddFloat32(v.Path, shape, buf[:n]); err != nil {
						return err
					}
					if v.Trainable {
						if err := w.AddFloat32(v.Path+"/momentum", shape, buf[:n]); err != nil {
							return err
						}
					}
				}
				return w.Finish()
			}
			mgr, err := checkpoints.Open(b.TempDir(), checkpoints.Options{KeepLast: 2})
			if err != nil {
				b.Fatal(err)
			}
			var bytes int64
			b.ResetTimer()
			for i := range b.N {
				meta, err := mgr.Save(context.Background(), checkpoints.Meta{Step: int64(i + 1)}, save)
				if err != nil {
					b.Fatal(err)
				}
				bytes = 0
				for _, f := range meta.Files {
					bytes += f.Size
				}
			}
			b.SetBytes(bytes)
		})
	}
}

func elements(shape []int64) int64 {
	n := int64(1)
	for _, d := range shape {
		n *= d
	}
	return n
}
