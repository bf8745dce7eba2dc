package diagnose_test

import (
	"context"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/rs/zerolog"

	"github.com/graftrain/graftrain/config"
	"github.com/graftrain/graftrain/diagnose"
	"github.com/graftrain/graftrain/train/run"
	"github.com/graftrain/graftrain/train/stage"
	"github.com/graftrain/graftrain/train/standin"
)

// shapesConfig is the sample dataset's config the dry runs start from.
var shapesConfig = filepath.Join("..", "examples", "shapes.yaml")

// dryRun trains the pure-Go stand-in model as `graftrain train --dry-run
// --config examples/shapes.yaml --set ...` does, into a fresh directory,
// and returns the directory.
func dryRun(t *testing.T, sets ...string) string {
	t.Helper()
	dir := t.TempDir()
	sets = append([]string{"run.dir=" + dir, "checkpoint.every_steps=1000", "data.workers=1"}, sets...)
	cfg, err := config.Load(config.Sources{File: shapesConfig, Sets: sets, Environ: []string{}})
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	yaml, err := cfg.YAML(false)
	if err != nil {
		t.Fatal(err)
	}
	man, err := stage.ReadManifest(cfg.Model.Variables)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := stage.Build(cfg, man)
	if err != nil {
		t.Fatalf("stages: %v", err)
	}
	m, err := standin.New(man, standin.Options{Seed: cfg.Train.Seed, Store: standin.BundleStore{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	log := zerolog.Nop()
	tr, val, err := run.Datasets(ctx, cfg, log)
	if err != nil {
		t.Fatalf("datasets: %v", err)
	}
	plan, err := run.Plan(cfg, sp, tr.Len(), m.OptionalInputs())
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	_, err = run.Run(ctx, run.Options{Config: cfg, ConfigYAML: yaml, Dir: dir, Plan: plan, Runner: m,
		Train: tr, Val: val, Resume: true, DryRun: true, Log: log})
	if err != nil {
		t.Logf("run stopped: %v", err)
	}
	return dir
}

func diagnoseDir(t *testing.T, dir string) (*diagnose.Run, []diagnose.Finding) {
	t.Helper()
	r, err := diagnose.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	w := 0
	if r.Config != nil {
		w = r.Config.Diagnose.Window
	}
	return r, diagnose.Diagnose(r, diagnose.DefaultThresholds(w))
}

// base makes both stages 100 steps with validation every 20.
var base = []string{"stages.0.steps=100", "stages.1.steps=100", "train.val_every_steps=20"}

func TestHealthyRunHasNoFindings(t *testing.T) {
	dir := dryRun(t, base...)
	r, fs := diagnoseDir(t, dir)
	if len(r.Train) != 200 || len(r.Val) == 0 {
		t.Fatalf("dry run wrote %d training and %d validation rows, want 200 and some", len(r.Train), len(r.Val))
	}
	for _, f := range fs {
		t.Errorf("healthy run: unexpected finding %s (stage %d %s): %s %v", f.ID, f.Stage, f.Subject, f.Title, f.Evidence)
	}
}

// pathology is a known-bad setting of the shapes config and what diagnose
// must say about it.
type pathology struct {
	name    string
	sets    []string
	id      string
	stage   int
	subject string
	fixKeys []string // keys the fix must set
	check   func(t *testing.T, f diagnose.Finding)
}

var pathologies = []pathology{
	{
		name: "learning rate far too high", sets: []string{"stages.0.learning_rate=50"},
		id: diagnose.IDClippingSaturated, stage: 0, fixKeys: []string{"stages.0.learning_rate"},
		check: func(t *testing.T, f diagnose.Finding) {
			if f.Numbers["fraction"] < 0.8 || f.Numbers["median_ratio"] < 2 {
				t.Errorf("clipping evidence: fraction %v, median grad/clip %v; want >= 0.8 and >= 2", f.Numbers["fraction"], f.Numbers["median_ratio"])
			}
			if v, _ := strconv.ParseFloat(f.Fix[0].Value, 64); !(v > 0 && v <= 5) {
				t.Errorf("fix %s: want a learning rate at most a tenth of 50", f.Fix[0])
			}
		},
	},
	{
		name: "learning rate far too low", sets: []string{"stages.0.learning_rate=1e-7"},
		id: diagnose.IDVanishingGradients, stage: 0, fixKeys: []string{"stages.0.learning_rate"},
	},
	{
		name: "head left out of the heads stage", sets: []string{"stages.0.layers=[fpn, rpn, mrcnn_class, mrcnn_bbox]"},
		id: diagnose.IDGroupNotTraining, stage: 0, subject: "mrcnn_mask", fixKeys: []string{"stages.0.layers"},
		check: func(t *testing.T, f diagnose.Finding) {
			if want := "[fpn, rpn, mrcnn_class, mrcnn_bbox, mrcnn_mask]"; f.Fix[0].Value != want {
				t.Errorf("fix %s, want layers %s", f.Fix[0], want)
			}
			if f.Numbers["grad_norm"] <= 0 {
				t.Errorf("evidence: the frozen head's gradient norm is %v", f.Numbers["grad_norm"])
			}
		},
	},
	{
		name: "head listed with multiplier 0", sets: []string{"stages.0.lr_multipliers.mrcnn_class=0"},
		id: diagnose.IDGroupNotTraining, stage: 0, subject: "mrcnn_class", fixKeys: []string{"stages.0.lr_multipliers.mrcnn_class"},
	},
	{
		name: "head multiplier a million times too small", sets: []string{"stages.0.lr_multipliers.mrcnn_mask=1e-6"},
		id: diagnose.IDVanishingGradients, stage: 0, subject: "mrcnn_mask", fixKeys: []string{"stages.0.lr_multipliers.mrcnn_mask"},
		check: func(t *testing.T, f diagnose.Finding) {
			if r := f.Numbers["ratio"]; !(r > 0 && r < 1e-6) {
				t.Errorf("evidence: update/weight ratio %v, want in (0, 1e-6)", r)
			}
		},
	},
	{
		name: "loss weight 100 on the mask branch", sets: []string{"stages.0.loss_weights.mrcnn_mask_loss=100"},
		id: diagnose.IDBranchDominates, stage: 0, subject: "mrcnn_mask_loss", fixKeys: []string{"stages.0.loss_weights.mrcnn_mask_loss"},
		check: func(t *testing.T, f diagnose.Finding) {
			if f.Numbers["weight"] != 100 || f.Numbers["share"] < 0.6 {
				t.Errorf("evidence: weight %v share %v, want 100 and > 0.6", f.Numbers["weight"], f.Numbers["share"])
			}
			if f.Fix[0].Value != "1" {
				t.Errorf("fix %s, want the weight back to 1", f.Fix[0])
			}
		},
	},
	{
		name: "stage switch without warm-up",
		sets: []string{"stages.1.learning_rate=1", "stages.1.warmup_steps=0", "stages.1.lr_multipliers={}", "stages.1.lr_schedule=constant"},
		id:   diagnose.IDStageSwitchSpike, stage: 1, fixKeys: []string{"stages.1.warmup_steps", "stages.1.lr_multipliers.res5"},
		check: func(t *testing.T, f diagnose.Finding) {
			if f.Numbers["jump"] < 1.5 || f.FirstStep != 101 {
				t.Errorf("evidence: jump ×%v from step %d, want > 1.5 from step 101", f.Numbers["jump"], f.FirstStep)
			}
		},
	},
}

// TestPathologies trains the stand-in under each known-bad setting, checks
// that diagnose names the cause first with its evidence, then reruns with
// the suggested overrides and checks that the finding is gone.
func TestPathologies(t *testing.T) {
	for _, p := range pathologies {
		t.Run(p.name, func(t *testing.T) {
			sets := append(slices.Clone(base), p.sets...)
			_, fs := diagnoseDir(t, dryRun(t, sets...))
			if len(fs) == 0 {
				t.Fatalf("no finding; want %s", p.id)
			}
			top := fs[0]
			if top.ID != p.id || top.Stage != p.stage || top.Subject != p.subject {
				for _, f := range fs {
					t.Logf("finding %s stage %d %s: %v", f.ID, f.Stage, f.Subject, f.Evidence)
				}
				t.Fatalf("first finding %s (stage %d, %q), want %s (stage %d, %q)", top.ID, top.Stage, top.Subject, p.id, p.stage, p.subject)
			}
			for _, k := range p.fixKeys {
				if !slices.ContainsFunc(top.Fix, func(o diagnose.Override) bool { return o.Key == k }) {
					t.Errorf("fix %s does not set %s", top.SetArgs(), k)
				}
			}
			if p.check != nil {
				p.check(t, top)
			}
			t.Logf("%s: %s", top.ID, top.SetArgs())
			fixed := slices.Clone(sets)
			for _, o := range top.Fix {
				fixed = append(fixed, o.String())
			}
			_, after := diagnoseDir(t, dryRun(t, fixed...))
			for _, f := range after {
				if f.Key() == top.Key() {
					t.Errorf("after %s the finding remains: %s %v", top.SetArgs(), f.Title, f.Evidence)
				}
				if f.Severity >= diagnose.Error {
					t.Errorf("after the fix: %s finding %s: %s", f.Severity, f.ID, f.Title)
				}
			}
		})
	}
}
