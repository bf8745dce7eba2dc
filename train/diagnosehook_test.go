package train_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"

	"github.com/graftrain/graftrain/config"
	"github.com/graftrain/graftrain/diagnose"
	"github.com/graftrain/graftrain/train"
	"github.com/graftrain/graftrain/train/run"
	"github.com/graftrain/graftrain/train/stage"
	"github.com/graftrain/graftrain/train/standin"
)

type stepSeen struct {
	stage int
	lr    float32
}

// liveLoop is the stand-in model training examples/shapes.yaml with sets
// applied (one data worker, a fresh run directory) under live diagnosis,
// logging to log.
func liveLoop(t *testing.T, log zerolog.Logger, sets ...string) *train.Loop {
	t.Helper()
	cfg, err := config.Load(config.Sources{File: filepath.Join("..", "examples", "shapes.yaml"), Environ: []string{},
		Sets: append([]string{"run.dir=" + t.TempDir(), "data.workers=1"}, sets...)})
	if err != nil {
		t.Fatal(err)
	}
	man, err := stage.ReadManifest(cfg.Model.Variables)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := stage.Build(cfg, man)
	if err != nil {
		t.Fatal(err)
	}
	m, err := standin.New(man, standin.Options{Seed: cfg.Train.Seed})
	if err != nil {
		t.Fatal(err)
	}
	tr, _, err := run.Datasets(context.Background(), cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	plan, err := run.Plan(cfg, sp, tr.Len(), m.OptionalInputs())
	if err != nil {
		t.Fatal(err)
	}
	mon, err := diagnose.NewMonitor(cfg.Diagnose)
	if err != nil {
		t.Fatal(err)
	}
	l := &train.Loop{Runner: m, Plan: plan, Train: tr, Log: log}
	l.AddHook(train.LiveDiagnosis(mon, true))
	return l
}

// plateauLoop trains the stand-in on the shapes config whose first stage
// barely learns (a learning rate of 1e-7: its loss is flat), with live
// diagnosis attached, and returns each step's stage and LR and Run's error.
func plateauLoop(t *testing.T, policy string) ([]stepSeen, error) {
	t.Helper()
	l := liveLoop(t, zerolog.Nop(),
		"stages.0.steps=150", "stages.0.learning_rate=1e-7", "stages.1.steps=50",
		"diagnose.window=60", "diagnose.patience=30", "diagnose.cooldown=30", "diagnose.factor=0.1", "diagnose.on_plateau="+policy)
	var seen []stepSeen
	l.AddHook(train.Hook{Name: "record", Priority: train.PriorityProgress, OnStep: func(ctx context.Context, l *train.Loop, info *train.StepInfo) error {
		seen = append(seen, stepSeen{info.StageIndex, info.Params.LearningRate})
		return nil
	}})
	return seen, l.Run(context.Background())
}

func TestLiveDiagnosisReduceLR(t *testing.T) {
	seen, err := plateauLoop(t, diagnose.PolicyReduceLR)
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 200 {
		t.Fatalf("%d steps, want 200", len(seen))
	}
	first := -1
	for i, s := range seen[:150] {
		if s.lr < 0.5e-7 {
			first = i + 1
			if s.lr < 0.9e-8 || s.lr > 1.1e-8 {
				t.Fatalf("step %d: lr %g, want 1e-7 × 0.1", i+1, s.lr)
			}
			break
		}
	}
	if first < 0 {
		t.Fatal("the learning rate was never reduced on the flat stage")
	}
	if first <= 30 {
		t.Fatalf("reduced at step %d, before the patience of 30 steps could pass", first)
	}
	if seen[150].lr < 1e-4 {
		t.Fatalf("the next stage starts at lr %g: the reduction leaked into it", seen[150].lr)
	}
}

func TestLiveDiagnosisNextStage(t *testing.T) {
	seen, err := plateauLoop(t, diagnose.PolicyNextStage)
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 200 {
		t.Fatalf("%d steps, want 200 (the next stage takes the steps left)", len(seen))
	}
	switched := -1
	for i, s := range seen {
		if s.stage == 1 {
			switched = i + 1
			break
		}
	}
	if switched < 30 || switched > 150 {
		t.Fatalf("stage 1 began at step %d, want after the patience and before the planned step 151", switched)
	}
}

func TestLiveDiagnosisStop(t *testing.T) {
	seen, err := plateauLoop(t, diagnose.PolicyStop)
	var ps *train.PlateauStopError
	if !errors.As(err, &ps) {
		t.Fatalf("Run returned %v, want a PlateauStopError", err)
	}
	if int64(len(seen)) != ps.Step || ps.Step >= 150 || ps.Step-ps.Since < 30 {
		t.Fatalf("stopped at step %d after %d steps (plateau since %d), want a stop in stage 0 after the patience", ps.Step, len(seen), ps.Since)
	}
}

// A healthy run under live diagnosis logs no finding and takes no action,
// even as its loss flattens at the end (it is converged, not stuck).
func TestLiveDiagnosisQuietOnHealthyRun(t *testing.T) {
	var logged bytes.Buffer
	l := liveLoop(t, zerolog.New(&logged).Level(zerolog.WarnLevel),
		"stages.0.steps=100", "stages.1.steps=100", "diagnose.window=60", "diagnose.patience=0", "diagnose.on_plateau=stop")
	if err := l.Run(context.Background()); err != nil {
		t.Fatalf("run: %v\nlog:\n%s", err, logged.String())
	}
	if logged.Len() > 0 {
		t.Fatalf("warnings on a healthy run:\n%s", logged.String())
	}
}
