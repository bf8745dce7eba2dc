package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/graftrain/graftrain/train"
)

func runCmd(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	a := newApp(&out, &errOut)
	a.environ = []string{}
	root := newRootCmd(a)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), errOut.String(), err
}

func TestTrainDryRunShapes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	cfg := filepath.Join("..", "..", "examples", "shapes.yaml")
	out, _, err := runCmd(t, "train", "--dry-run", "--config", cfg, "--set", "run.dir="+dir, "--log-format", "json")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "dry run finished: 40 steps") {
		t.Errorf("output: %s", out)
	}
	for _, f := range []string{"config.yaml", "DRY_RUN", "log.jsonl", "metrics.jsonl", "checkpoints/checkpoint.json", "checkpoints/ckpt-40.index"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "events.out.tfevents.*")); len(m) != 1 {
		t.Errorf("event files %v", m)
	}
	// Every log line says it is a dry run.
	logData, _ := os.ReadFile(filepath.Join(dir, "log.jsonl"))
	lines := strings.Split(strings.TrimSpace(string(logData)), "\n")
	for _, l := range lines {
		var e map[string]any
		if err := json.Unmarshal([]byte(l), &e); err != nil || e["dry_run"] != true {
			t.Errorf("log line without dry_run: %s", l)
		}
	}
	rows, err := train.ReadRows(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var first, last float64
	n := 0
	for _, r := range rows {
		if r.Kind == "train" {
			if n == 0 {
				first = r.TotalLoss
			}
			last = r.TotalLoss
			n++
		}
	}
	if n != 40 || !(last < first) {
		t.Errorf("%d train rows, loss %v -> %v; want 40 rows and a falling loss", n, first, last)
	}

	out, _, err = runCmd(t, "checkpoints", "list", dir)
	if err != nil || !strings.Contains(out, "ckpt-40") || !strings.Contains(out, "latest") {
		t.Errorf("list: %v\n%s", err, out)
	}
	// ckpt-30 to ckpt-40 is inside the "all" stage: everything trains;
	// heads vs all: compare with the BatchNorm statistics, never trained.
	out, _, err = runCmd(t, "checkpoints", "diff", filepath.Join(dir, "checkpoints", "ckpt-30"), filepath.Join(dir, "checkpoints", "ckpt-40.index"))
	if err != nil || !strings.Contains(out, "changed") {
		t.Errorf("diff: %v\n%s", err, out)
	}
	if !strings.Contains(out, "conv1/kernel") {
		t.Errorf("conv1 trains in the all stage but is not listed as changed:\n%s", out)
	}
	if strings.Contains(out, "moving_mean") {
		t.Errorf("BatchNorm statistics changed:\n%s", out)
	}

	// A second run into the same directory resumes and has nothing left.
	out, _, err = runCmd(t, "train", "--dry-run", "--config", cfg, "--set", "run.dir="+dir, "--log-format", "json")
	if err != nil || !strings.Contains(out, "40 steps") {
		t.Errorf("resume of a finished run: %v %s", err, out)
	}
}

func TestTrainWithoutTensorFlow(t *testing.T) {
	if tensorflowAvailable {
		t.Skip("built with TensorFlow")
	}
	dir := filepath.Join(t.TempDir(), "run")
	_, _, err := runCmd(t, "train", "--config", filepath.Join("..", "..", "examples", "shapes.yaml"), "--set", "run.dir="+dir)
	if err == nil || !strings.Contains(err.Error(), "-tags tensorflow") || !strings.Contains(err.Error(), "--dry-run") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Error("a run directory was made for a run that cannot start")
	}
}

func TestTrainInjectedNaNStops(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	cfg := filepath.Join("..", "..", "examples", "shapes.yaml")
	_, _, err := runCmd(t, "train", "--dry-run", "--config", cfg, "--set", "run.dir="+dir, "--log-format", "json", "--inject-nan", "12,13,14")
	var nf *train.NonFiniteError
	if !errors.As(err, &nf) || nf.Checkpoint != "ckpt-10" {
		t.Fatalf("err = %v, want a non-finite stop back at ckpt-10", err)
	}
}
