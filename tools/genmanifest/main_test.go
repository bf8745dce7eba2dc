package main

import (
	"bufio"
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/graftrain/graftrain/graphs"
	"github.com/graftrain/graftrain/internal/fixtures"
)

var update = flag.Bool("update", false, "rewrite the committed example manifest")

const example = "../../examples/matterport_resnet101_coco_variables.json"

func params(m *graphs.VariablesManifest, keep func(graphs.Variable) bool) (total int64) {
	for _, v := range m.Variables {
		if !keep(v) {
			continue
		}
		n := int64(1)
		for _, d := range v.Shape {
			n *= d
		}
		total += n
	}
	return total
}

func all(graphs.Variable) bool { return true }

// Keras' model.summary() of mask_rcnn_coco.h5 (81 classes): 64,158,584
// parameters, of which 111,488 are non-trainable (the BatchNorm moving
// statistics: 2 x the 55,744 BatchNorm channels).
func TestResNet101COCOParameterCount(t *testing.T) {
	m, err := matterport(81, "resnet101")
	if err != nil {
		t.Fatal(err)
	}
	if got := params(m, all); got != 64_158_584 {
		t.Errorf("total parameters %d, want 64158584", got)
	}
	nonTrainable := params(m, func(v graphs.Variable) bool { return !v.Trainable })
	if nonTrainable != 111_488 {
		t.Errorf("non-trainable parameters %d, want 111488", nonTrainable)
	}
	for i, v := range m.Variables {
		if v.Index != i {
			t.Fatalf("variable %d has index %d", i, v.Index)
		}
	}
}

type weight struct {
	path  string
	shape []int64
}

// readFixture parses the notebook's weight list: "name:0<TAB>(d, d, ...)".
func readFixture(t *testing.T) []weight {
	t.Helper()
	f, err := os.Open(fixtures.Path(t, "matterport_mask_rcnn_coco_weights.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []weight
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		name, shape, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			t.Fatalf("fixture line %d: no tab", line)
		}
		w := weight{path: strings.TrimSuffix(name, ":0")}
		for _, d := range strings.Split(strings.Trim(shape, "()"), ",") {
			d = strings.TrimSpace(d)
			if d == "" {
				continue
			}
			n, err := strconv.ParseInt(d, 10, 64)
			if err != nil {
				t.Fatalf("fixture line %d: %v", line, err)
			}
			w.shape = append(w.shape, n)
		}
		out = append(out, w)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// backboneBias matches the convolution biases the notebook's model lacks.
var backboneBias = regexp.MustCompile(`^(conv1|res[2-5][a-z]+_branch(1|2[abc]))/bias$`)

// The notebook's model (4 classes, no backbone biases) must be exactly the
// generated 4-class manifest minus the backbone biases: same weights, same
// order, same shapes.
func TestMatchesNotebookWeights(t *testing.T) {
	want := readFixture(t)
	if len(want) != 586 {
		t.Fatalf("fixture has %d weights, want 586", len(want))
	}
	m, err := matterport(4, "resnet101")
	if err != nil {
		t.Fatal(err)
	}
	var got []graphs.Variable
	biases := 0
	for _, v := range m.Variables {
		if backboneBias.MatchString(v.Path) {
			biases++
			continue
		}
		got = append(got, v)
	}
	if biases != 104 {
		t.Errorf("%d backbone convolution biases, want 104", biases)
	}
	if len(got) != len(want) {
		t.Fatalf("%d weights besides backbone biases, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Path != w.path || !slices.Equal(g.Shape, w.shape) {
			t.Errorf("weight %d: got %s %v, want %s %v", i, g.Path, g.Shape, w.path, w.shape)
		}
		bn := strings.HasPrefix(g.Layer, "bn") || strings.Contains(g.Layer, "_bn")
		if g.BatchNorm != bn {
			t.Errorf("%s: batch_norm %v, want %v", g.Path, g.BatchNorm, bn)
		}
		stat := strings.HasSuffix(g.Path, "/moving_mean") || strings.HasSuffix(g.Path, "/moving_variance")
		if g.Trainable == stat {
			t.Errorf("%s: trainable %v", g.Path, g.Trainable)
		}
	}
}

// With 81 classes only the class-dependent heads differ from the notebook:
// their last dimension is 81 (mrcnn_class_logits, mrcnn_mask) or 4 x 81
// (mrcnn_bbox_fc) instead of 4 and 16.
func TestCOCOHeadsDiffer(t *testing.T) {
	want := map[string][]int64{}
	for _, w := range readFixture(t) {
		want[w.path] = w.shape
	}
	classDependent := map[string][]int64{
		"mrcnn_class_logits/kernel": {1024, 81}, "mrcnn_class_logits/bias": {81},
		"mrcnn_bbox_fc/kernel": {1024, 324}, "mrcnn_bbox_fc/bias": {324},
		"mrcnn_mask/kernel": {1, 1, 256, 81}, "mrcnn_mask/bias": {81},
	}
	m, err := matterport(81, "resnet101")
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, v := range m.Variables {
		if s, ok := classDependent[v.Path]; ok {
			found++
			if !slices.Equal(v.Shape, s) {
				t.Errorf("%s: shape %v, want %v", v.Path, v.Shape, s)
			}
			continue
		}
		s, ok := want[v.Path]
		if !ok {
			if !backboneBias.MatchString(v.Path) {
				t.Errorf("%s is neither in the notebook nor a backbone bias", v.Path)
			}
			continue
		}
		if !slices.Equal(v.Shape, s) {
			t.Errorf("%s: shape %v, want %v", v.Path, v.Shape, s)
		}
	}
	if found != len(classDependent) {
		t.Errorf("found %d class-dependent weights, want %d", found, len(classDependent))
	}
}

func TestResNet50(t *testing.T) {
	m, err := matterport(81, "resnet50")
	if err != nil {
		t.Fatal(err)
	}
	m101, _ := matterport(81, "resnet101")
	// 17 fewer identity blocks in stage 4, each 3 convolutions (kernel,
	// bias) and 3 BatchNorms (4 variables).
	if d := len(m101.Variables) - len(m.Variables); d != 17*(3*2+3*4) {
		t.Errorf("resnet50 has %d fewer variables, want %d", d, 17*18)
	}
	// Each identity block of stage 4: 1x1 1024->256, 3x3 256->256, 1x1
	// 256->1024 with biases, BatchNorms over 256, 256 and 1024 channels.
	block := int64(1024*256+256) + (9*256*256 + 256) + (256*1024 + 1024) + 4*(256+256+1024)
	if d := params(m101, all) - params(m, all); d != 17*block {
		t.Errorf("resnet50 has %d fewer parameters, want %d", d, 17*block)
	}
	last := "res4f_branch2c/kernel"
	if !hasPath(m, last) || hasPath(m, "res4g_branch2a/kernel") {
		t.Errorf("resnet50 stage 4 should end with block f")
	}
}

func TestErrors(t *testing.T) {
	if _, err := matterport(81, "resnet152"); err == nil {
		t.Error("resnet152: no error")
	}
	if _, err := matterport(1, "resnet101"); err == nil {
		t.Error("1 class: no error")
	}
}

// The committed example must be exactly what the generator writes.
func TestCommittedExample(t *testing.T) {
	m, err := matterport(81, "resnet101")
	if err != nil {
		t.Fatal(err)
	}
	want, err := encode(m)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(example, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(example)
	if err != nil {
		t.Fatalf("%v (regenerate with go test ./tools/genmanifest -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the generator's output; regenerate with go test ./tools/genmanifest -update", filepath.Clean(example))
	}
}

func TestRunWritesFile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "v.json")
	if err := run(81, "resnet101", out, nil); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	if err := run(81, "resnet101", "", &stdout); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, stdout.Bytes()) {
		t.Error("file and standard output differ")
	}
}

func hasPath(m *graphs.VariablesManifest, p string) bool {
	for _, v := range m.Variables {
		if v.Path == p {
			return true
		}
	}
	return false
}
