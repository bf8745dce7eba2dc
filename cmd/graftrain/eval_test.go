package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/graftrain/graftrain/internal/fixtures"
)

// Published pycocotools summaries of cocoapi's demo detections on the
// fixture's 100 val2014 images (see the fixture's README).
var publishedEval = map[string][12]float64{
	"bbox": {0.5045806987249628, 0.6969727247299577, 0.5729816669904824, 0.5856257209410443, 0.5193996948036719, 0.5013978986347466, 0.38681277964578054, 0.5936795762842003, 0.595352982877607, 0.6398109626113442, 0.5664205978994309, 0.5642905982905982},
	"segm": {0.3195452758576433, 0.5622883972521636, 0.29892653412086784, 0.3873740315997838, 0.31018272403369485, 0.3269339071005138, 0.2682297225711534, 0.41544868114906375, 0.4168394992198818, 0.4694498622754236, 0.37675922666197265, 0.3814715099715099},
}

func runEval(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRootCmd(newApp(&out, &errOut))
	root.SetArgs(append([]string{"eval"}, args...))
	err := root.Execute()
	return out.String(), errOut.String(), err
}

func TestEvalCommandJSON(t *testing.T) {
	dir := fixtures.Path(t, "coco_val2014_100")
	gt := filepath.Join(dir, "instances_val2014_100.json")
	for typ, file := range map[string]string{"bbox": "fakebbox100.json", "segm": "fakesegm100.json"} {
		out, _, err := runEval(t, "--gt", gt, "--dt", filepath.Join(dir, file), "--type", typ, "--json")
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		var r struct {
			Type     string
			Stats    [12]float64
			PerClass map[string]struct {
				ID    int64
				Stats [12]float64
			} `json:"per_class"`
		}
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("%s: output is not JSON: %v\n%s", typ, err, out)
		}
		for i, want := range publishedEval[typ] {
			if math.Abs(r.Stats[i]-want) > 1e-12 {
				t.Errorf("%s stat %d = %.17g, want %.17g", typ, i, r.Stats[i], want)
			}
		}
		if len(r.PerClass) != 80 || r.PerClass["person"].ID != 1 {
			t.Errorf("%s: per_class has %d categories, person id %d; want 80 and 1", typ, len(r.PerClass), r.PerClass["person"].ID)
		}
	}
}

func TestEvalCommandText(t *testing.T) {
	dir := fixtures.Path(t, "coco_val2014_100")
	out, _, err := runEval(t, "--gt", filepath.Join(dir, "instances_val2014_100.json"),
		"--dt", filepath.Join(dir, "fakebbox100.json"), "--per-class")
	if err != nil {
		t.Fatal(err)
	}
	// pycocotools' summary lines, written out with the published numbers.
	heads := []string{
		"Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]",
		"Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=100 ]",
		"Average Precision  (AP) @[ IoU=0.75      | area=   all | maxDets=100 ]",
		"Average Precision  (AP) @[ IoU=0.50:0.95 | area= small | maxDets=100 ]",
		"Average Precision  (AP) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ]",
		"Average Precision  (AP) @[ IoU=0.50:0.95 | area= large | maxDets=100 ]",
		"Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ]",
		"Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets= 10 ]",
		"Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]",
		"Average Recall     (AR) @[ IoU=0.50:0.95 | area= small | maxDets=100 ]",
		"Average Recall     (AR) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ]",
		"Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ]",
	}
	lines := strings.Split(out, "\n")
	for i, h := range heads {
		want := fmt.Sprintf(" %s = %.3f", h, publishedEval["bbox"][i])
		if lines[i] != want {
			t.Errorf("line %d = %q, want %q", i, lines[i], want)
		}
	}
	if !strings.Contains(out, "\nperson ") || !strings.Contains(out, "category ") {
		t.Errorf("--per-class output lacks the category table:\n%s", out)
	}
}

func TestEvalCommandErrors(t *testing.T) {
	dir := fixtures.Path(t, "coco_val2014_100")
	gt := filepath.Join(dir, "instances_val2014_100.json")
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`[{"image_id": 42, "category_id": 1, "bbox": [1,2,3,4], "score": 0.5},
 {"image_id": 7, "category_id": 1, "bbox": [1,2,3,4], "score": 0.5}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--dt", bad}, 2, "--gt is required"},
		{[]string{"--gt", gt, "--dt", bad, "--type", "keypoints"}, 2, "unknown evaluation type"},
		{[]string{"--gt", gt, "--dt", bad}, 1, "detection 1 (line 2, column 2): image_id is not an image of the ground truth: 7"},
		{[]string{"--gt", filepath.Join(dir, "missing.json"), "--dt", bad}, 1, "no such file"},
	} {
		_, _, err := runEval(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || exitCode(err) != tc.code {
			t.Errorf("eval %v: err %v (exit %d), want exit %d and %q", tc.args, err, exitCode(err), tc.code, tc.want)
		}
	}
}
