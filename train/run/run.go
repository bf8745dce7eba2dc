package run

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/graftrain/graftrain/checkpoints"
	"github.com/graftrain/graftrain/config"
	"github.com/graftrain/graftrain/diagnose"
	"github.com/graftrain/graftrain/train"
)

// Files of a run directory.
const (
	ConfigFile  = "config.yaml"
	MetricsFile = "metrics.jsonl"
	LogFile     = "log.jsonl"
	DryRunFile  = "DRY_RUN"
	CkptDir     = "checkpoints"
)

// Options describe one run.
type Options struct {
	Config *config.Config
	// ConfigYAML is the effective config as YAML: written to config.yaml
	// and hashed into every checkpoint.
	ConfigYAML []byte
	Dir        string // run directory
	Plan       *train.Plan
	Runner     train.Runner
	Train      train.Dataset
	Val        train.Dataset // nil: no validation
	// Resume continues from the newest good checkpoint when the run
	// directory has one; without it such a directory is an error.
	Resume bool
	DryRun bool
	Log    zerolog.Logger
	// Progress receives the terminal progress line; nil for none.
	Progress io.Writer
}

// Result summarises a finished (or stopped) run.
type Result struct {
	Steps            int64
	ResumedFrom      string
	LastCheckpoint   string
	CheckpointWrites []time.Duration
}

// Prepare creates the run directory and writes config.yaml and, for a dry
// run, the DRY_RUN marker.
func Prepare(dir string, configYAML []byte, dryRun bool) error {
	if err := os.MkdirAll(filepath.Join(dir, CkptDir), 0o755); err != nil {
		return fmt.Errorf("run directory: %w", err)
	}
	if err := checkpoints.WriteFileAtomic(filepath.Join(dir, ConfigFile), configYAML); err != nil {
		return err
	}
	if dryRun {
		msg := []byte("This run directory was made by `graftrain train --dry-run`: the model is the pure-Go stand-in, not the SavedModel.\n")
		if err := checkpoints.WriteFileAtomic(filepath.Join(dir, DryRunFile), msg); err != nil {
			return err
		}
	}
	return nil
}

// ConfigHash is the hex SHA-256 of the effective config.
func ConfigHash(yaml []byte) string {
	h := sha256.Sum256(yaml)
	return hex.EncodeToString(h[:])
}

// ErrExistingRun is returned when the run directory has checkpoints and
// resuming was not asked for.
var ErrExistingRun = errors.New("the run directory already has checkpoints")

// Run trains: prepares the directory, resumes when asked, attaches the
// standard hooks and runs the loop.
func Run(ctx context.Context, o Options) (Result, error) {
	var res Result
	cfg := o.Config
	if err := Prepare(o.Dir, o.ConfigYAML, o.DryRun); err != nil {
		return res, err
	}
	mgr, err := checkpoints.Open(filepath.Join(o.Dir, CkptDir), checkpoints.Options{
		KeepLast: cfg.Checkpoint.KeepLast, KeepBest: cfg.Checkpoint.KeepBest,
		BestMetric: cfg.Checkpoint.BestMetric, BestMode: cfg.Checkpoint.BestMode, Log: o.Log,
	})
	if err != nil {
		return res, err
	}
	if err := mgr.Clean(); err != nil {
		return res, err
	}
	hash := ConfigHash(o.ConfigYAML)
	metrics := &train.MetricsFile{Path: filepath.Join(o.Dir, MetricsFile), DryRun: o.DryRun}
	ck := &checkpointHook{mgr: mgr, every: cfg.Checkpoint.EverySteps, hash: hash, dryRun: o.DryRun, metrics: metrics, saved: -1}
	loop := &train.Loop{Runner: o.Runner, Plan: o.Plan, Train: o.Train, MaxSteps: cfg.Train.MaxSteps, Log: o.Log}
	loop.State.Data.Seed = cfg.Train.Seed

	existing, err := mgr.List()
	if err != nil {
		return res, err
	}
	if len(existing) > 0 {
		if !o.Resume {
			return res, fmt.Errorf("%w (%s, newest %s): pass --resume to continue it, or choose another run.dir", ErrExistingRun, mgr.Dir(), existing[len(existing)-1].Name)
		}
		meta, err := mgr.Latest(ctx)
		if err != nil {
			return res, fmt.Errorf("resume from %s: %w", mgr.Dir(), err)
		}
		if err := o.Runner.Restore(ctx, mgr.Prefix(meta.Name)); err != nil {
			return res, fmt.Errorf("resume from %s: %w", meta.Name, err)
		}
		if meta.ConfigHash != hash {
			o.Log.Warn().Str("checkpoint", meta.Name).Msg("the config differs from the one this checkpoint was written with; continuing with the new one")
		}
		if meta.Data.Seed != cfg.Train.Seed {
			o.Log.Warn().Int64("checkpoint_seed", meta.Data.Seed).Int64("seed", cfg.Train.Seed).Msg("train.seed changed since the checkpoint; the data order will differ from the uninterrupted run")
		}
		loop.State = train.State{
			Step:           meta.Step,
			Data:           train.DataPosition{Epoch: meta.Data.Epoch, Index: meta.Data.Index, Seed: cfg.Train.Seed},
			NonFiniteRun:   meta.NonFiniteRun,
			NonFiniteTotal: meta.NonFiniteTotal,
		}
		ck.last, ck.saved = meta, meta.Step
		res.ResumedFrom = meta.Name
		o.Log.Info().Str("checkpoint", meta.Name).Int64("step", meta.Step).Str("stage", meta.Stage).Msg("resuming")
	}

	loop.AddHook(train.NonFiniteGuard(ck.restore(o.Runner), cfg.Train.MaxNonFiniteSteps))
	if o.Val != nil {
		loop.AddHook(train.Validation(o.Val, cfg.Train.Seed, cfg.Train.ValEverySteps, cfg.Train.ValSteps))
		ce, err := newCOCOEval(ctx, cfg, o.Val, o.Log)
		if err != nil {
			return res, err
		}
		if ce != nil {
			loop.AddHook(ce.hook())
		}
	}
	loop.AddHook(metrics.Hook())
	mon, err := diagnose.NewMonitor(cfg.Diagnose)
	if err != nil {
		return res, fmt.Errorf("diagnose: %w", err)
	}
	loop.AddHook(train.LiveDiagnosis(mon, o.DryRun))
	loop.AddHook(tensorBoardHook(o.Dir))
	loop.AddHook(ck.hook())
	if o.Progress != nil {
		loop.AddHook(progressHook(o.Progress))
	}
	loop.AddHook(logHook())
	o.Log.Info().Int64("from_step", loop.State.Step).Int64("to_step", loop.EndStep()).Int("stages", len(o.Plan.Stages)).
		Int64("steps_per_epoch", o.Plan.StepsPerEpoch).Msg("training")
	err = loop.Run(ctx)
	res.Steps = loop.State.Step
	res.LastCheckpoint = ck.last.Name
	res.CheckpointWrites = ck.writes
	return res, err
}

// logHook writes one debug line per step and an info line per stage.
func logHook() train.Hook {
	return train.Hook{
		Name:     "log",
		Priority: train.PriorityProgress + 1,
		OnStageStart: func(ctx context.Context, l *train.Loop, s int) error {
			st := l.Plan.Stages[s]
			l.Log.Info().Str("stage", st.Name).Int("stage_index", s).Int64("steps", st.Steps).
				Float64("learning_rate", st.Schedule.Base).Str("lr_schedule", st.Schedule.Kind).Msg("stage start")
			return nil
		},
		OnStep: func(ctx context.Context, l *train.Loop, info *train.StepInfo) error {
			if e := l.Log.Debug(); e.Enabled() {
				e.Int64("step", info.Step).Str("stage", info.Stage.Name).Float32("lr", info.Params.LearningRate).
					Float32("total_loss", info.Result.TotalLoss).Dur("step_time", info.StepTime).Dur("data_wait", info.DataWait).Msg("step")
			}
			return nil
		},
		OnEnd: func(ctx context.Context, l *train.Loop, runErr error) error {
			ev := l.Log.Info()
			if runErr != nil && !errors.Is(runErr, train.ErrInterrupted) {
				ev = l.Log.Error().Err(runErr)
			}
			ev.Int64("step", l.State.Step).Int("nonfinite_total", l.State.NonFiniteTotal).Msg("training stopped")
			return nil
		},
	}
}

// RequireCheckpoint fails unless dir's checkpoints/ has a complete
// checkpoint (for --resume, which must not silently start afresh).
func RequireCheckpoint(dir string) error {
	ck := filepath.Join(dir, CkptDir)
	if _, err := os.Stat(ck); err != nil {
		return fmt.Errorf("--resume: %s has no checkpoints to resume from (%w)", dir, err)
	}
	mgr, err := checkpoints.Open(ck, checkpoints.Options{})
	if err != nil {
		return err
	}
	all, err := mgr.List()
	if err != nil {
		return err
	}
	if len(all) == 0 {
		return fmt.Errorf("--resume: %s has no complete checkpoint to resume from", mgr.Dir())
	}
	return nil
}
