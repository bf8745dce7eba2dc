package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/graftrain/graftrain/train/stage"
)

const exampleVariables = "../../examples/matterport_resnet101_coco_variables.json"

func runPlan(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	a := newApp(&out, &errOut)
	a.environ = []string{}
	root := newRootCmd(a)
	root.SetArgs(append([]string{"plan"}, args...))
	err := root.Execute()
	return out.String(), err
}

func TestPlanExamples(t *testing.T) {
	for _, tc := range []struct {
		file      string
		trainable []int64 // parameters trained per stage
	}{
		{"matterport_coco.yaml", []int64{21_488_120, 62_495_736, 63_935_608}},
		{"stuck_finetune_fix.yaml", []int64{21_488_120, 63_935_608}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			cfg := filepath.Join("..", "..", "examples", tc.file)
			out, err := runPlan(t, "--config", cfg)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out, "variables: 690, parameters: 64,158,584 in 10 groups") {
				t.Errorf("text output lacks the totals:\n%s", out)
			}
			if n := strings.Count(out, "\nstage "); n != len(tc.trainable) {
				t.Errorf("%d stage tables, want %d", n, len(tc.trainable))
			}
			out, err = runPlan(t, "--config", cfg, "--json")
			if err != nil {
				t.Fatal(err)
			}
			var r stage.Report
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatal(err)
			}
			if r.Params != 64_158_584 || len(r.Stages) != len(tc.trainable) {
				t.Fatalf("json: %d params, %d stages", r.Params, len(r.Stages))
			}
			for i, s := range r.Stages {
				if s.TrainableParams != tc.trainable[i] {
					t.Errorf("stage %s trains %d params, want %d", s.Name, s.TrainableParams, tc.trainable[i])
				}
			}
		})
	}
}

func TestPlanVariablesOut(t *testing.T) {
	out := filepath.Join(t.TempDir(), "all.json")
	cfg := filepath.Join("..", "..", "examples", "matterport_coco.yaml")
	if _, err := runPlan(t, "--config", cfg, "--stage", "all", "--variables-out", out); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var f stage.VectorFile
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	nonzero := 0
	for _, e := range f.Variables {
		if e.Multiplier != 0 {
			nonzero++
		}
	}
	if f.Stage != "all" || f.LearningRate != 0.0001 || len(f.Variables) != 690 || nonzero != 250 {
		t.Errorf("vector: stage %s, lr %v, %d variables, %d nonzero; want all, 0.0001, 690, 250", f.Stage, f.LearningRate, len(f.Variables), nonzero)
	}
}

// A model directory and --variables work without a config (the default
// config's single heads stage).
func TestPlanModelDirAndVariablesFlag(t *testing.T) {
	data, err := os.ReadFile(exampleVariables)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "assets"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stage.ManifestPath(dir), data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{dir}, {"--variables", exampleVariables}} {
		out, err := runPlan(t, args...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if !strings.Contains(out, "stage 1/1 heads") || !strings.Contains(out, "  total        690        64,158,584  42            21,488,120") {
			t.Errorf("%v: output:\n%s", args, out)
		}
	}
}

func TestPlanErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte("{\n \"contract_version\": 1,\n \"variables\": [\n  {\"index\": 0,}\n ]\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join("..", "..", "examples", "matterport_coco.yaml")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "no variables manifest: give MODEL_DIR, --variables FILE"},
		{[]string{t.TempDir()}, "file not found"},
		{[]string{"--variables", bad}, "bad.json: graftrain_variables.json: line 4"},
		{[]string{"--config", cfg, "--stage", "all"}, "give --variables-out FILE too"},
		{[]string{"--config", cfg, "--stage", "nope", "--variables-out", filepath.Join(t.TempDir(), "v.json")}, `--stage "nope": no such stage`},
		{[]string{"--variables", exampleVariables, "--set", "groups.res4=^res"}, "groups res4, res5 all match"},
	} {
		_, err := runPlan(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.args, err, tc.want)
		}
	}
}
