package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/graftrain/graftrain/checkpoints"
	"github.com/graftrain/graftrain/checkpoints/bundle"
	"github.com/graftrain/graftrain/internal/fixtures"
	"github.com/graftrain/graftrain/train/run"
)

// copyVariables is a SaveFunc writing the model's own variables with w
// set to w (as Runner.Save would after training).
func copyVariables(model string, w float32) checkpoints.SaveFunc {
	return func(ctx context.Context, prefix string) error {
		orig, err := bundle.Open(filepath.Join(model, "variables", "variables"))
		if err != nil {
			return err
		}
		bw, err := bundle.NewWriter(prefix)
		if err != nil {
			return err
		}
		for _, e := range orig.Index.Entries {
			switch {
			case e.Key == "w/.ATTRIBUTES/VARIABLE_VALUE":
				err = bw.AddFloat32(e.Key, e.Shape, []float32{w})
			case e.DType == bundle.String:
				var s [][]byte
				if s, err = orig.Strings(e.Key); err == nil {
					err = bw.AddStrings(e.Key, e.Shape, s)
				}
			default:
				var raw []byte
				if raw, _, err = orig.Raw(e.Key); err == nil {
					err = bw.Add(e.Key, e.DType, e.Shape, raw)
				}
			}
			if err != nil {
				bw.Abort()
				return err
			}
		}
		return bw.Finish()
	}
}

func runExportCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRootCmd(newApp(&out, &errOut))
	root.SetArgs(append([]string{"export"}, args...))
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

func TestExport(t *testing.T) {
	model := fixtures.Path(t, "tf2_regression_train")
	runDir := t.TempDir()
	if err := run.Prepare(runDir, []byte("model:\n  dir: "+model+"\n"), false); err != nil {
		t.Fatal(err)
	}
	mgr, err := checkpoints.Open(filepath.Join(runDir, run.CkptDir), checkpoints.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for step, w := range map[int64]float32{10: 1.5, 20: 2.9} {
		if _, err := mgr.Save(context.Background(), checkpoints.Meta{Step: step}, copyVariables(model, w)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		args  []string
		wantW float32
		out   string
	}{
		{nil, 2.9, "exported ckpt-20 (step 20"},
		{[]string{"--checkpoint", "10"}, 1.5, "exported ckpt-10 (step 10"},
	}
	for _, tt := range tests {
		out := filepath.Join(t.TempDir(), "model")
		stdout, err := runExportCmd(t, append([]string{"--run", runDir, "--out", out}, tt.args...)...)
		if err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		if !strings.Contains(stdout, tt.out) || !strings.Contains(stdout, "variables/variables.index") {
			t.Errorf("%v: output %q", tt.args, stdout)
		}
		ck, err := bundle.Open(filepath.Join(out, "variables", "variables"))
		if err != nil {
			t.Fatal(err)
		}
		if w, err := ck.Float32s("w/.ATTRIBUTES/VARIABLE_VALUE"); err != nil || w[0] != tt.wantW {
			t.Errorf("%v: exported w = %v, %v; want %v", tt.args, w, err, tt.wantW)
		}
	}

	if _, err := runExportCmd(t, "--run", runDir, "--checkpoint", "15", "--out", filepath.Join(t.TempDir(), "m")); err == nil || !strings.Contains(err.Error(), "no complete checkpoint ckpt-15") {
		t.Errorf("missing step: %v", err)
	}
	if err := os.WriteFile(filepath.Join(runDir, run.DryRunFile), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := runExportCmd(t, "--run", runDir, "--out", filepath.Join(t.TempDir(), "m")); err == nil || !strings.Contains(err.Error(), "is a dry run") {
		t.Errorf("dry run: %v", err)
	}
}
