package stage

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run go test -update and review the diff):\n%s", path, got)
	}
}

func cocoPlan(t *testing.T) *Plan {
	heads := st("heads", "heads")
	ft := st("finetune", "4+")
	ft.WarmupSteps = 100
	ft.LRMultipliers = map[string]float64{"res4": 0.1, "res5": 0.1, "rpn": 0.2}
	ft.LossWeights = map[string]float64{"mrcnn_mask_loss": 2}
	p, err := Build(withStages(t, heads, ft), loadExample(t))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestWriteText(t *testing.T) {
	var buf bytes.Buffer
	if err := cocoPlan(t).WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	golden(t, "plan.txt", buf.Bytes())
}

func TestWriteJSON(t *testing.T) {
	p := cocoPlan(t)
	var buf bytes.Buffer
	if err := p.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var r Report
	if err := json.Unmarshal(buf.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if r.Params != 64_158_584 || len(r.Stages) != 2 || len(r.Groups) != 10 {
		t.Fatalf("report: %d params, %d stages, %d groups", r.Params, len(r.Stages), len(r.Groups))
	}
	ft := r.Stages[1]
	if ft.TrainableParams != p.Stages[1].TrainableParams || ft.LossWeights[4].Weight != 2 || ft.LossWeights[4].Loss != "mrcnn_mask_loss" {
		t.Errorf("finetune stage %+v", ft)
	}
	for _, g := range ft.Groups {
		if g.Group == "rpn" && (g.Multiplier != 0.2 || g.State != "trainable" || math.Abs(g.StartLearningRate-0.001*0.2/100) > 1e-18) {
			t.Errorf("rpn row %+v", g)
		}
		if g.Group == "res2" && (g.State != "frozen" || g.Multiplier != 0 || g.LearningRate != 0) {
			t.Errorf("res2 row %+v", g)
		}
	}
}

func TestWriteVector(t *testing.T) {
	p := cocoPlan(t)
	var buf bytes.Buffer
	if err := p.WriteVector(&buf, 1); err != nil {
		t.Fatal(err)
	}
	var f VectorFile
	if err := json.Unmarshal(buf.Bytes(), &f); err != nil {
		t.Fatalf("%v\n%s", err, buf.Bytes()[:200])
	}
	if f.Stage != "finetune" || f.StageIndex != 1 || len(f.Variables) != len(p.Variables) {
		t.Fatalf("vector file: stage %q #%d, %d variables", f.Stage, f.StageIndex, len(f.Variables))
	}
	for i, e := range f.Variables {
		if e.Index != i || e.Path != p.Variables[i].Path || e.Multiplier != p.Stages[1].Multipliers[i] {
			t.Fatalf("entry %d: %+v", i, e)
		}
	}
	if err := p.WriteVector(&buf, 2); err == nil {
		t.Error("stage 2 of 2: no error")
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 64158584: "64,158,584", -1234567: "-1,234,567"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %s, want %s", n, got, want)
		}
	}
}

// Unmatched variables, warnings and a stage given in steps.
func TestWriteTextWarnings(t *testing.T) {
	m := manifest("a/kernel", "a_bn/gamma", "a_bn/moving_mean:stat", "b/kernel", "c/kernel")
	s1 := st("one", "a")
	s1.LRMultipliers = map[string]float64{"b": 0.5}
	s2 := st("two", "a")
	s2.Steps = 300
	p, err := Build(small(map[string]string{"a": "^a", "b": "^b/", "empty": "^zzz"}, "freeze", s1, s2), m)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := p.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	golden(t, "plan_warnings.txt", buf.Bytes())
}
