package run

import (
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/graftrain/graftrain/checkpoints"
	"github.com/graftrain/graftrain/data/batch"
	"github.com/graftrain/graftrain/train"
	"github.com/graftrain/graftrain/train/standin"
)

const (
	faultEnv   = "GRAFTRAIN_FAULT_CHILD_DIR"
	faultEvery = 5 // checkpoint interval of the killed runs
)

// slowStore widens the window in which a kill lands inside a checkpoint
// write: the tensors are on disk under their temporary name but not yet
// renamed, synced or described by metadata.
type slowStore struct{ standin.BundleStore }

func (s slowStore) Write(prefix string, ts []standin.Tensor) error {
	if err := s.BundleStore.Write(prefix, ts); err != nil {
		return err
	}
	time.Sleep(3 * time.Millisecond)
	return nil
}

// slowRunner makes each step take about a millisecond, like a small model.
type slowRunner struct{ *standin.Model }

func (r slowRunner) Step(ctx context.Context, b *batch.Batch, p train.StepParams) (train.StepResult, error) {
	time.Sleep(time.Millisecond)
	return r.Model.Step(ctx, b, p)
}

func faultOptions(t *testing.T, dir string) Options {
	cfg := testConfig(t)
	cfg.Checkpoint.EverySteps = faultEvery
	cfg.Checkpoint.KeepLast = 2
	cfg.Stages[0].Steps, cfg.Stages[1].Steps = 60, 90
	o := options(t, cfg, dir, nil)
	man := standin.SampleManifest()
	m, err := standin.New(man, standin.Options{Seed: cfg.Train.Seed, Store: slowStore{}, MaxElements: 2048})
	if err != nil {
		t.Fatal(err)
	}
	o.Runner = slowRunner{m}
	return o
}

// TestFaultChild is the training process the fault test kills; it does
// nothing unless started by TestKillAndResume.
func TestFaultChild(t *testing.T) {
	dir := os.Getenv(faultEnv)
	if dir == "" {
		t.Skip("run by TestKillAndResume")
	}
	if _, err := Run(context.Background(), faultOptions(t, dir)); err != nil {
		t.Fatal(err)
	}
}

// TestKillAndResume kills a training process (this test binary re-run as
// TestFaultChild) at random moments, checkpoint writes included, and
// resumes it each time. After every kill: every complete checkpoint
// verifies, the pointer names a complete one, no checkpoint is lost and at
// most one checkpoint interval of steps is lost. At the end the metrics
// equal an uninterrupted run's.
func TestKillAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("kills processes; skipped with -short")
	}
	ctx := context.Background()
	ref := t.TempDir()
	t0 := time.Now()
	if _, err := Run(ctx, faultOptions(t, ref)); err != nil {
		t.Fatal(err)
	}
	t.Logf("uninterrupted run: %v", time.Since(t0))
	want := comparable(t, ref)

	dir := t.TempDir()
	ckdir := filepath.Join(dir, CkptDir)
	rng := rand.New(rand.NewPCG(1, 2))
	deadline := time.Now().Add(8 * time.Second)
	var kills, midWrite int
	var lastStep int64 = -1
	for done := false; !done; {
		cmd := exec.Command(os.Args[0], "-test.run=^TestFaultChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), faultEnv+"="+dir)
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		finish := make(chan error, 1)
		go func() { finish <- cmd.Wait() }()
		kill := time.Duration(5+rng.IntN(60)) * time.Millisecond
		if time.Now().After(deadline) {
			kill = time.Hour // let the last one finish
		}
		select {
		case err := <-finish:
			if err != nil {
				t.Fatalf("child failed: %v\n%s", err, out.String())
			}
			done = true
		case <-time.After(kill):
			cmd.Process.Signal(syscall.SIGKILL)
			<-finish
			kills++
		}
		// Invariants after the kill.
		ents, _ := os.ReadDir(ckdir)
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ".tmp-") {
				midWrite++
				break
			}
		}
		mgr, err := checkpoints.Open(ckdir, checkpoints.Options{})
		if err != nil {
			t.Fatal(err)
		}
		all, err := mgr.List()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range all {
			if err := mgr.Verify(ctx, m); err != nil {
				t.Fatalf("after kill %d: complete checkpoint %s does not verify: %v", kills, m.Name, err)
			}
		}
		if len(all) == 0 {
			continue
		}
		latest := all[len(all)-1]
		if latest.Step < lastStep {
			t.Fatalf("after kill %d: newest checkpoint went back from step %d to %d", kills, lastStep, latest.Step)
		}
		lastStep = latest.Step
		if p, err := mgr.ReadPointer(); err == nil {
			if _, err := mgr.ReadMeta(p.Latest); err != nil {
				t.Fatalf("after kill %d: pointer names %s, which is not complete: %v", kills, p.Latest, err)
			}
		}
		rows, _ := train.ReadRows(filepath.Join(dir, MetricsFile))
		var ran int64
		for _, r := range rows {
			ran = max(ran, r.Step)
		}
		if ran-latest.Step > faultEvery {
			t.Fatalf("after kill %d: step %d ran but the newest checkpoint is %d: more than one interval lost", kills, ran, latest.Step)
		}
	}
	t.Logf("%d kills, %d with a checkpoint write in progress", kills, midWrite)
	if kills < 10 {
		t.Errorf("only %d kills in the time budget", kills)
	}
	got := comparable(t, dir)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after %d kills the metrics differ from the uninterrupted run (%d rows vs %d)", kills, len(got), len(want))
	}
}
