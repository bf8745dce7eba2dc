package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/graftrain/graftrain/diagnose"
)

// A dry run whose heads stage leaves out the mask head: diagnose names it
// first, prints the fix, and writes the report; --json says the same.
func TestDiagnoseDryRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	cfg := filepath.Join("..", "..", "examples", "shapes.yaml")
	if _, _, err := runCmd(t, "train", "--dry-run", "--config", cfg, "--set", "run.dir="+dir, "--log-format", "json",
		"--set", "stages.0.steps=100", "--set", "stages.1.steps=100", "--set", "checkpoint.every_steps=50",
		"--set", "stages.0.layers=[fpn, rpn, mrcnn_class, mrcnn_bbox]"); err != nil {
		t.Fatal(err)
	}
	out, _, err := runCmd(t, "diagnose", dir)
	if err != nil {
		t.Fatal(err)
	}
	first := strings.Index(out, "1. [ERROR] group_not_training: head mrcnn_mask is frozen in stage heads")
	if first < 0 || !strings.Contains(out, "fix: --set stages.0.layers='[fpn, rpn, mrcnn_class, mrcnn_bbox, mrcnn_mask]'") {
		t.Fatalf("output does not name the frozen mask head first with its fix:\n%s", out)
	}
	page := filepath.Join(dir, "report", "index.html")
	if !strings.Contains(out, "report: "+page) {
		t.Errorf("output does not give the report's path:\n%s", out)
	}
	html, err := os.ReadFile(page)
	if err != nil || !strings.Contains(string(html), "group_not_training") {
		t.Fatalf("report: %v", err)
	}

	out, _, err = runCmd(t, "diagnose", "--json", "--no-report", dir)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Findings []diagnose.Finding `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("--json output: %v\n%s", err, out)
	}
	if len(res.Findings) == 0 || res.Findings[0].ID != diagnose.IDGroupNotTraining || res.Findings[0].Severity != diagnose.Error {
		t.Fatalf("--json findings: %+v", res.Findings)
	}
}

func TestDiagnoseNotARunDir(t *testing.T) {
	_, _, err := runCmd(t, "diagnose", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "metrics") {
		t.Fatalf("error %v, want one about the missing metrics", err)
	}
}
