package run

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/rs/zerolog"

	"github.com/graftrain/graftrain/config"
	"github.com/graftrain/graftrain/internal/fixtures"
	"github.com/graftrain/graftrain/train/stage"
	"github.com/graftrain/graftrain/train/standin"
)

// shapesOptions is a dry run of examples/shapes.yaml through the real data
// loader.
func shapesOptions(t *testing.T, dir string, maxSteps int64) Options {
	t.Helper()
	wd, _ := os.Getwd()
	root, ok := fixtures.Root(wd)
	if !ok {
		t.Skip("repository root not found")
	}
	cfg, err := config.Load(config.Sources{File: filepath.Join(root, "examples", "shapes.yaml"), Environ: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Train.MaxSteps = maxSteps
	cfg.Checkpoint.EverySteps = 7
	cfg.Data.Workers = 2
	man, err := stage.ReadManifest(cfg.Model.Variables)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := stage.Build(cfg, man)
	if err != nil {
		t.Fatal(err)
	}
	m, err := standin.New(man, standin.Options{Seed: cfg.Train.Seed, Store: standin.BundleStore{}})
	if err != nil {
		t.Fatal(err)
	}
	tr, val, err := Datasets(context.Background(), cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tr.(*loaderData); !ok {
		t.Fatalf("training split is %T, not the data loader", tr)
	}
	p, err := Plan(cfg, sp, tr.Len(), m.OptionalInputs())
	if err != nil {
		t.Fatal(err)
	}
	return Options{Config: cfg, ConfigYAML: []byte("shapes\n"), Dir: dir, Plan: p, Runner: m, Train: tr, Val: val,
		Resume: true, DryRun: true, Log: zerolog.Nop()}
}

// TestResumeWithLoader interrupts a dry run on the shapes dataset inside
// a checkpoint interval that spans a data epoch boundary (19 batches an
// epoch), resumes it, and checks every metrics row against the
// uninterrupted run.
func TestResumeWithLoader(t *testing.T) {
	ctx := context.Background()
	full := t.TempDir()
	if _, err := Run(ctx, shapesOptions(t, full, 0)); err != nil {
		t.Fatal(err)
	}
	want := comparable(t, full)
	cut := t.TempDir()
	if _, err := Run(ctx, shapesOptions(t, cut, 24)); err != nil {
		t.Fatal(err)
	}
	// The process "died" after step 24 before its checkpoint: resume at 21.
	for _, f := range []string{"ckpt-24.json", "ckpt-24.index", "ckpt-24.data-00000-of-00001"} {
		os.Remove(filepath.Join(cut, CkptDir, f))
	}
	res, err := Run(ctx, shapesOptions(t, cut, 0))
	if err != nil {
		t.Fatal(err)
	}
	if res.ResumedFrom != "ckpt-21" {
		t.Fatalf("resumed from %s", res.ResumedFrom)
	}
	got := comparable(t, cut)
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d", len(got), len(want))
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("row %d (step %d %s) differs after resume", i, got[i].Step, got[i].Kind)
		}
	}
}
