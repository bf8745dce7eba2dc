package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runData(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	a := newApp(&out, &errOut)
	a.environ = []string{}
	root := newRootCmd(a)
	root.SetArgs(append([]string{"data"}, args...))
	err := root.Execute()
	return out.String(), err
}

const shapesConfig = "../../examples/shapes.yaml"

func TestDataCheckShapes(t *testing.T) {
	run := t.TempDir()
	out, err := runData(t, "check", "--config", shapesConfig, "--set", "run.dir="+run, "--json")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var r struct {
		Usable    int `json:"usable"`
		Instances int `json:"instances"`
		Missing   int `json:"missing_files"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.Usable == 0 || r.Instances == 0 || r.Missing != 0 {
		t.Fatalf("report %+v", r)
	}
	if _, err := os.Stat(filepath.Join(run, "report", "data_check_train.png")); err != nil {
		t.Fatal(err)
	}
	out, err = runData(t, "check", "--dataset", "../../examples/shapes", "--split", "val", "--set", "run.dir="+run)
	if err != nil || !strings.Contains(out, "instances_val.json") {
		t.Fatalf("--dataset: %v\n%s", err, out)
	}
	if _, err := runData(t, "check", "--config", shapesConfig, "--split", "test"); err == nil {
		t.Fatal("--split test accepted")
	}
}

func TestDataDumpShapes(t *testing.T) {
	dir := t.TempDir()
	out, err := runData(t, "dump", "--config", shapesConfig, "--image-id", "1", "--out", dir)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	// examples/shapes.yaml: 128² images, 10 instances, 28² mini masks, 64
	// train anchors, 4 classes; anchors (32²+16²+8²+4²+2²)×3 = 4092.
	want := map[string]string{
		"input_image.npy":        "(1, 128, 128, 3)",
		"input_image_meta.npy":   "(1, 16)",
		"input_rpn_match.npy":    "(1, 4092, 1)",
		"input_rpn_bbox.npy":     "(1, 64, 4)",
		"input_gt_class_ids.npy": "(1, 10)",
		"input_gt_boxes.npy":     "(1, 10, 4)",
		"input_gt_masks.npy":     "(1, 28, 28, 10)",
		"anchors.npy":            "(1, 4092, 4)",
	}
	for name, shape := range want {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		hl := int(binary.LittleEndian.Uint16(b[8:10]))
		if h := string(b[10 : 10+hl]); !strings.Contains(h, "'shape': "+shape) {
			t.Errorf("%s header %q, want shape %s", name, h, shape)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "overlay.png")); err != nil {
		t.Fatal(err)
	}
	if _, err := runData(t, "dump", "--config", shapesConfig, "--image-id", "999999", "--out", dir); err == nil {
		t.Fatal("unknown image id accepted")
	}
}
