package diagnose

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/graftrain/graftrain/checkpoints"
	"github.com/graftrain/graftrain/config"
	"github.com/graftrain/graftrain/data/check"
	"github.com/graftrain/graftrain/train/metrics"
)

func TestReadRowsToleratesATornLastLine(t *testing.T) {
	in := `{"kind":"train","step":1,"total_loss":2}
{"kind":"val","step":1,"total_loss":3}
{"kind":"train","step":2,"tot`
	rows, err := ReadRows(strings.NewReader(in))
	if err != nil || len(rows) != 2 {
		t.Fatalf("rows %d, err %v; want 2 rows and no error", len(rows), err)
	}
	r := NewRun(rows)
	if len(r.Train) != 1 || len(r.Val) != 1 {
		t.Fatalf("split into %d train and %d val rows", len(r.Train), len(r.Val))
	}
	// A bad line in the middle is an error that names it.
	_, err = ReadRows(strings.NewReader("{\"step\":1}\nnot json\n{\"step\":3}\n"))
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("error %v, want one naming line 2", err)
	}
}

// Checkpoints that show a frozen group's variables changed are reported,
// with the variables, even when the rows' update norms say 0.
func TestFrozenGroupMovedInCheckpoints(t *testing.T) {
	cfg, err := config.Load(config.Sources{Environ: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	r := &Run{Config: cfg}
	for i := int64(1); i <= 20; i++ {
		r.Train = append(r.Train, metrics.Row{Kind: "train", Step: i, Stage: "heads", TotalLoss: 1,
			GroupLRMult:      map[string]float64{"res5": 0, "fpn": 1},
			GroupUpdateNorms: map[string]float64{"res5": 0, "fpn": 0.01}})
	}
	r.CheckpointDiffs = []CheckpointDiff{{From: 10, To: 20, Vars: []checkpoints.VarDiff{
		{Key: "res5a_branch2a/kernel", Change: checkpoints.Changed, Relative: 0.02},
		{Key: "res5a_branch2a/kernel/momentum", Change: checkpoints.Changed},
		{Key: "fpn_p5/kernel", Change: checkpoints.Changed},
		{Key: "bn5a_branch2a/moving_mean", Change: checkpoints.Changed},
	}}}
	fs := Diagnose(r, DefaultThresholds(0))
	if len(fs) == 0 || fs[0].ID != IDFrozenGroupMoved || fs[0].Subject != "res5" || fs[0].Severity != Critical {
		t.Fatalf("findings %+v, want frozen_group_moved for res5 first", fs)
	}
	ev := strings.Join(fs[0].Evidence, "\n")
	if !strings.Contains(ev, "res5a_branch2a/kernel (relative change 0.02)") || strings.Contains(ev, "momentum") || strings.Contains(ev, "moving_mean") {
		t.Fatalf("evidence should name the changed variable and not optimiser slots or BN statistics:\n%s", ev)
	}
	if fs[0].FirstStep != 10 || fs[0].LastStep != 20 {
		t.Errorf("steps %d–%d, want 10–20", fs[0].FirstStep, fs[0].LastStep)
	}
}

func FuzzReadRows(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.jsonl"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b[:min(len(b), 4000)])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := ReadRows(bytes.NewReader(data))
		if err != nil {
			return
		}
		// Whatever parses must diagnose without panicking.
		Diagnose(NewRun(rows), DefaultThresholds(0))
	})
}

// BenchmarkMonitorObserve is the live diagnosis' cost per training step
// with the default window (200 steps, a check every 50).
func BenchmarkMonitorObserve(b *testing.B) {
	rows := testdataRows(b, "healthy")
	m, err := NewMonitor(config.Diagnose{Window: 200, OnPlateau: PolicyWarn, Factor: 0.1, Patience: 500, Cooldown: 200})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := rows[i%len(rows)]
		r.Step = int64(i + 1)
		m.Observe(r)
	}
}

// The data check's share of objects no anchor matches is evidence on its
// own: anchor scales are fixed at export, so the RPN can never learn them.
func TestDataCheckUnmatchedObjects(t *testing.T) {
	r := loadTestdata(t, "healthy")
	var err error
	if fs := Diagnose(r, DefaultThresholds(0)); len(fs) != 0 {
		t.Fatalf("healthy rows already have findings: %v", fs)
	}
	// The summary as `graftrain data check --json` writes it.
	rep := check.Report{Instances: 100, Tiny: 3}
	rep.BestIoUUnder[1] = 0.4
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, data := range map[string][]byte{MetricsFile: mustRead(t, filepath.Join("testdata", "healthy.jsonl")), DataCheckFile: b} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r, err = Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.DataCheck == nil || r.DataCheck.Instances != 100 || r.DataCheck.BestIoUUnder[1] != 0.4 || r.DataCheck.Tiny != 3 {
		t.Fatalf("data check read as %+v (notes %v)", r.DataCheck, r.Notes)
	}
	fs := Diagnose(r, DefaultThresholds(0))
	if len(fs) != 1 || fs[0].ID != IDRPNStarved || fs[0].Fix[0].String() != "model.rpn_anchor_scales=[16, 32, 64, 128, 256]" {
		t.Fatalf("findings %+v, want rpn_starved with halved anchor scales", fs)
	}
}

// BenchmarkDiagnoseLongRun diagnoses a 20,000-step run (rows of the
// hand-made healthy file repeated).
func BenchmarkDiagnoseLongRun(b *testing.B) {
	rows := testdataRows(b, "healthy")
	var long []metrics.Row
	for i := range 20_000 {
		r := rows[i%len(rows)]
		r.Step = int64(i + 1)
		long = append(long, r)
	}
	run := NewRun(long)
	b.ResetTimer()
	for range b.N {
		Diagnose(run, DefaultThresholds(0))
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
