package stage

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/graftrain/graftrain/config"
	"github.com/graftrain/graftrain/graphs"
	"github.com/graftrain/graftrain/internal/fixtures"
)

const exampleManifest = "../../examples/matterport_resnet101_coco_variables.json"

func loadExample(t testing.TB) *graphs.VariablesManifest {
	t.Helper()
	m, err := ReadManifest(exampleManifest)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// defaults returns the embedded default config (environment ignored).
func defaults(t testing.TB) *config.Config {
	t.Helper()
	c, err := config.Load(config.Sources{Environ: []string{}})
	if err != nil {
		t.Fatalf("default config: %v", err)
	}
	return c
}

// withStages returns the defaults with the given stages.
func withStages(t testing.TB, stages ...config.Stage) *config.Config {
	c := defaults(t)
	c.Stages = stages
	return c
}

func st(name string, layers ...string) config.Stage {
	return config.Stage{Name: name, Layers: layers, Epochs: 1, LearningRate: 0.001, LRSchedule: "constant"}
}

// Parameter counts by group, by hand from matterport's architecture.
var wantGroupParams = map[string]int64{
	// 7x7x3x64 kernel + 64 bias + 4 x 64 BatchNorm.
	"conv1": 7*7*3*64 + 64 + 4*64,
	// lateral 1x1 convs from 2048, 1024, 512, 256 channels to 256, and four
	// 3x3 256->256 output convs, all with biases.
	"fpn": (2048+1024+512+256)*256 + 4*256 + 4*(9*256*256+256),
	// 3x3 256->512 shared conv, 1x1 512->6 class and 512->12 box convs.
	"rpn": 9*256*512 + 512 + 512*6 + 6 + 512*12 + 12,
	// 7x7x256x1024 and 1x1 1024x1024 convs with BatchNorms, logits 1024x81.
	"mrcnn_class": 49*256*1024 + 1024 + 4*1024 + 1024*1024 + 1024 + 4*1024 + 1024*81 + 81,
	"mrcnn_bbox":  1024*324 + 324,
	// four 3x3 256->256 convs with BatchNorms, a 2x2 deconv, 1x1 256->81.
	"mrcnn_mask": 4*(9*256*256+256+4*256) + 4*256*256 + 256 + 256*81 + 81,
}

func TestDefaultGroupsPartitionMatterport(t *testing.T) {
	m := loadExample(t)
	p, err := Build(withStages(t, st("all", "all")), m)
	if err != nil {
		t.Fatal(err)
	}
	if p.Params != 64_158_584 {
		t.Errorf("params %d, want 64158584", p.Params)
	}
	if len(p.Unmatched) != 0 {
		t.Errorf("%d unmatched variables", len(p.Unmatched))
	}
	wantOrder := []string{"conv1", "res2", "res3", "res4", "res5", "fpn", "rpn", "mrcnn_class", "mrcnn_bbox", "mrcnn_mask"}
	if got := p.GroupNames(); !slices.Equal(got, wantOrder) {
		t.Errorf("groups %v, want %v", got, wantOrder)
	}
	var sum int64
	for _, g := range p.Groups {
		sum += g.Params
		if w, ok := wantGroupParams[g.Name]; ok && g.Params != w {
			t.Errorf("group %s: %d params, want %d", g.Name, g.Params, w)
		}
		// Independent membership rule: a variable's layer names its group.
		for _, v := range g.Variables {
			if got := groupByLayer(m.Variables[v].Layer); got != g.Name {
				t.Errorf("%s is in group %s, want %s", m.Variables[v].Path, g.Name, got)
			}
		}
	}
	if sum != p.Params {
		t.Errorf("group params sum to %d, want %d", sum, p.Params)
	}
	if len(p.Warnings) != 0 {
		t.Errorf("warnings: %v", p.Warnings)
	}
}

// groupByLayer names the group of a matterport layer by string prefixes,
// independently of the regexes.
func groupByLayer(layer string) string {
	switch {
	case layer == "conv1" || layer == "bn_conv1":
		return "conv1"
	case strings.HasPrefix(layer, "fpn_"):
		return "fpn"
	case strings.HasPrefix(layer, "rpn_"):
		return "rpn"
	case strings.HasPrefix(layer, "mrcnn_class_"):
		return "mrcnn_class"
	case strings.HasPrefix(layer, "mrcnn_bbox"):
		return "mrcnn_bbox"
	case strings.HasPrefix(layer, "mrcnn_mask"):
		return "mrcnn_mask"
	}
	for _, s := range []string{"2", "3", "4", "5"} {
		if strings.HasPrefix(layer, "res"+s) || strings.HasPrefix(layer, "bn"+s) {
			return "res" + s
		}
	}
	return ""
}

// Presets select the same variables as matterport's own layer regexes on
// matterport's model, and train what matterport trains: every selected
// variable but the BatchNorm parameters (train_bn false).
func TestPresetsMatchMatterport(t *testing.T) {
	m := loadExample(t)
	trainsIn := map[string]func(layer string) bool{
		"heads": func(l string) bool { return hasAnyPrefix(l, "mrcnn_", "rpn_", "fpn_") },
		"3+": func(l string) bool {
			return hasAnyPrefix(l, "mrcnn_", "rpn_", "fpn_", "res3", "bn3", "res4", "bn4", "res5", "bn5")
		},
		"4+":  func(l string) bool { return hasAnyPrefix(l, "mrcnn_", "rpn_", "fpn_", "res4", "bn4", "res5", "bn5") },
		"5+":  func(l string) bool { return hasAnyPrefix(l, "mrcnn_", "rpn_", "fpn_", "res5", "bn5") },
		"all": func(string) bool { return true },
	}
	for _, name := range config.PresetNames() {
		t.Run(name, func(t *testing.T) {
			p, err := Build(withStages(t, st("ours", name), st("matterport", MatterportPrefix+name)), m)
			if err != nil {
				t.Fatal(err)
			}
			ours, theirs := p.Stages[0], p.Stages[1]
			if !slices.Equal(ours.Multipliers, theirs.Multipliers) {
				t.Errorf("preset %s and matterport:%s give different multipliers", name, name)
			}
			var wantVars int
			var wantParams int64
			for i, v := range m.Variables {
				want := trainsIn[name](v.Layer) && v.Trainable && !v.BatchNorm
				if got := ours.Multipliers[i] == 1; got != want {
					t.Errorf("%s: trains %v, want %v", v.Path, got, want)
				}
				if want {
					wantVars++
					n, _ := elements(v.Shape)
					wantParams += n
				}
			}
			if ours.TrainableVariables != wantVars || ours.TrainableParams != wantParams {
				t.Errorf("trains %d variables / %d params, want %d / %d", ours.TrainableVariables, ours.TrainableParams, wantVars, wantParams)
			}
			if !hasWarning(theirs.Warnings, WarnSameAsPrevious) {
				t.Error("no same_as_previous warning on the identical second stage")
			}
		})
	}
}

func hasAnyPrefix(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func hasWarning(ws []Warning, k WarningKind) bool {
	return slices.ContainsFunc(ws, func(w Warning) bool { return w.Kind == k })
}

func TestMultipliersAndLR(t *testing.T) {
	m := loadExample(t)
	s := st("fix", "all")
	s.LearningRate = 0.01
	s.WarmupSteps = 500
	s.LRMultipliers = map[string]float64{"conv1": 0.1, "res2": 0.1, "res3": 0.1, "res4": 0.1, "res5": 0.1, "rpn": 0.2, "mrcnn_mask": 0}
	p, err := Build(withStages(t, s), m)
	if err != nil {
		t.Fatal(err)
	}
	stg := p.Stages[0]
	// Warm-up starts at base/warmup_steps (train/schedule's rule).
	if want := 0.01 / 500; math.Abs(stg.StartLR-want) > 1e-15 {
		t.Errorf("start LR %v, want %v", stg.StartLR, want)
	}
	want := map[string]float64{"conv1": 0.1, "res2": 0.1, "res3": 0.1, "res4": 0.1, "res5": 0.1, "fpn": 1, "rpn": 0.2, "mrcnn_class": 1, "mrcnn_bbox": 1, "mrcnn_mask": 0}
	for gi, g := range p.Groups {
		gs := stg.Groups[gi]
		if gs.Multiplier != want[g.Name] {
			t.Errorf("%s: multiplier %v, want %v", g.Name, gs.Multiplier, want[g.Name])
		}
		if g.Name == "mrcnn_mask" {
			if gs.Trains() || gs.LR != 0 {
				t.Errorf("mrcnn_mask with multiplier 0 trains (%d variables, LR %v)", gs.Variables, gs.LR)
			}
			continue
		}
		if math.Abs(gs.LR-0.01*want[g.Name]) > 1e-15 || math.Abs(gs.StartLR-0.01/500*want[g.Name]) > 1e-18 {
			t.Errorf("%s: LR %v start %v", g.Name, gs.LR, gs.StartLR)
		}
		for _, v := range g.Variables {
			vr := m.Variables[v]
			wantM := float32(want[g.Name])
			if vr.BatchNorm || !vr.Trainable {
				wantM = 0
			}
			if stg.Multipliers[v] != wantM {
				t.Errorf("%s: multiplier %v, want %v", vr.Path, stg.Multipliers[v], wantM)
			}
		}
	}
}

func TestTrainBN(t *testing.T) {
	m := loadExample(t)
	s := st("bn", "5+")
	s.TrainBN = true
	p, err := Build(withStages(t, s), m)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range m.Variables {
		if !strings.HasPrefix(v.Layer, "bn5") {
			continue
		}
		stat := strings.HasSuffix(v.Path, "moving_mean") || strings.HasSuffix(v.Path, "moving_variance")
		if got := p.Stages[0].Multipliers[i]; (got == 1) == stat {
			t.Errorf("%s: multiplier %v with train_bn", v.Path, got)
		}
	}
}

func TestLossWeights(t *testing.T) {
	m := loadExample(t)
	s := st("w", "heads")
	s.LossWeights = map[string]float64{"mrcnn_mask_loss": 2, "rpn_bbox_loss": 0.5}
	p, err := Build(withStages(t, s), m)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.Stages[0].LossWeights, [5]float32{1, 0.5, 1, 1, 2}; got != want {
		t.Errorf("loss weights %v, want %v", got, want)
	}
}

// manifest builds a small manifest from "path" or "path:bn" entries.
func manifest(paths ...string) *graphs.VariablesManifest {
	m := &graphs.VariablesManifest{ContractVersion: graphs.ContractVersion}
	for i, p := range paths {
		p, flag, _ := strings.Cut(p, ":")
		m.Variables = append(m.Variables, graphs.Variable{
			Index: i, Path: p, Layer: filepath.Dir(p), Shape: []int64{2, 3}, DType: "float32",
			Trainable: flag != "stat", BatchNorm: flag == "bn" || flag == "stat",
		})
	}
	return m
}

func small(groups map[string]string, unmatched string, stages ...config.Stage) *config.Config {
	return &config.Config{Groups: groups, Stages: stages, Train: config.Train{UnmatchedVariables: unmatched}}
}

func TestErrors(t *testing.T) {
	m := manifest("a/kernel", "b/kernel", "c/kernel")
	ab := map[string]string{"a": "^a/", "b": "^b/"}
	abc := map[string]string{"a": "^a/", "b": "^b/", "c": "^c/"}
	withMult := st("s", "a")
	withMult.LRMultipliers = map[string]float64{"nope": 1}
	negMult := st("s", "a")
	negMult.LRMultipliers = map[string]float64{"a": -1}
	badLoss := st("s", "a")
	badLoss.LossWeights = map[string]float64{"mask_loss": 1}
	nanLoss := st("s", "a")
	nanLoss.LossWeights = map[string]float64{"rpn_class_loss": math.NaN()}
	zero := st("s", "a")
	zero.LRMultipliers = map[string]float64{"a": 0}
	badSched := st("s", "a")
	badSched.LRSchedule = "exp"
	for _, tc := range []struct {
		name string
		cfg  *config.Config
		want []string
	}{
		{"unmatched", small(ab, "error", st("s", "a")), []string{"1 variable(s) are in no group (c/kernel)", "unmatched_variables: freeze"}},
		{"unmatched default", small(ab, "", st("s", "a")), []string{"in no group"}},
		{"unmatched bad policy", small(ab, "ignore", st("s", "a")), []string{`train.unmatched_variables: "ignore"`}},
		{"overlap", small(map[string]string{"a": "^a/", "all": ".", "x": "kernel"}, "error", st("s", "a")), []string{"groups.all: the name is a layer preset"}},
		{"overlap2", small(map[string]string{"a": "^a/", "k": "kernel", "b": "^b/", "c": "^c/"}, "error", st("s", "a")), []string{"groups a, k all match 1 variable(s) (a/kernel)", "groups b, k all match"}},
		{"bad regex", small(map[string]string{"a": "("}, "freeze", st("s", "a")), []string{"groups.a: bad regex"}},
		{"empty regex", small(map[string]string{"a": ""}, "freeze", st("s", "a")), []string{"groups.a: empty regex"}},
		{"unknown layer", small(abc, "error", st("s", "z")), []string{`stages.0 (s): layers: "z" is neither a preset`}},
		{"preset missing group", small(abc, "error", st("s", "heads")), []string{`preset "heads" trains group "rpn", which is not defined`}},
		{"bad matterport preset", small(abc, "error", st("s", "matterport:2+")), []string{`no matterport preset "2+"`}},
		{"empty layers", small(abc, "error", st("s")), []string{"layers is empty"}},
		{"unknown multiplier group", small(abc, "error", withMult), []string{"lr_multipliers.nope: no such group"}},
		{"negative multiplier", small(abc, "error", negMult), []string{"lr_multipliers.a: -1"}},
		{"unknown loss", small(abc, "error", badLoss), []string{"loss_weights.mask_loss: unknown loss"}},
		{"nan loss", small(abc, "error", nanLoss), []string{"loss_weights.rpn_class_loss: NaN"}},
		{"trains nothing", small(abc, "error", zero), []string{"stages.0 (s): the stage trains no variable"}},
		{"bad schedule", small(abc, "error", badSched), []string{`lr_schedule "exp"`}},
		{"no stages", small(abc, "error"), []string{"stages: no stages"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Build(tc.cfg, m)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	m := manifest("a/kernel", "a_bn/gamma", "a_bn/moving_mean:stat", "b/kernel", "c/kernel")
	groups := map[string]string{"a": "^a", "b": "^b/", "empty": "^zzz"}
	s1 := st("one", "a")
	s1.LRMultipliers = map[string]float64{"b": 0.5}
	s2 := st("two", "a")
	p, err := Build(small(groups, "freeze", s1, s2), m)
	if err != nil {
		t.Fatal(err)
	}
	kinds := func(ws []Warning) []WarningKind {
		var out []WarningKind
		for _, w := range ws {
			out = append(out, w.Kind)
		}
		return out
	}
	if got, want := kinds(p.Warnings), []WarningKind{WarnUnmatched, WarnEmptyGroup}; !slices.Equal(got, want) {
		t.Errorf("plan warnings %v, want %v", got, want)
	}
	// a_bn/gamma is not flagged batch_norm, so it trains and is reported.
	if got, want := kinds(p.Stages[0].Warnings), []WarningKind{WarnBatchNormTrains, WarnUnusedMultiplier}; !slices.Equal(got, want) {
		t.Errorf("stage one warnings %v, want %v", got, want)
	}
	if got, want := p.Stages[0].Multipliers, []float32{1, 1, 0, 0, 0}; !slices.Equal(got, want) {
		t.Errorf("multipliers %v, want %v", got, want)
	}
	if got := kinds(p.Stages[1].Warnings); !slices.Contains(got, WarnSameAsPrevious) {
		t.Errorf("stage two warnings %v, want same_as_previous", got)
	}
	if p.GroupOf[4] != -1 || p.Unmatched[0] != 4 {
		t.Errorf("c/kernel: group %d, unmatched %v", p.GroupOf[4], p.Unmatched)
	}
}

func TestNotTrainableWarning(t *testing.T) {
	m := manifest("a/kernel", "a/frozen")
	m.Variables[1].Trainable = false
	p, err := Build(small(map[string]string{"a": "^a/"}, "error", st("s", "a")), m)
	if err != nil {
		t.Fatal(err)
	}
	if !hasWarning(p.Stages[0].Warnings, WarnNotTrainable) || p.Stages[0].Multipliers[1] != 0 {
		t.Errorf("non-trainable variable: warnings %v, multipliers %v", p.Stages[0].Warnings, p.Stages[0].Multipliers)
	}
}

// A group regex also matches layer names, and the layer defaults to the
// path's directory when the manifest leaves it empty.
func TestLayerNameMatch(t *testing.T) {
	m := manifest("head/dense/kernel", "body/kernel")
	m.Variables[0].Layer = "head_dense"
	m.Variables[1].Layer = ""
	p, err := Build(small(map[string]string{"h": "^head_dense$", "b": "^body$"}, "error", st("s", "h", "b")), m)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.GroupOf, []int{0, 1}) {
		t.Errorf("group of %v", p.GroupOf)
	}
}

func TestGroupNorms(t *testing.T) {
	m := manifest("a/x", "a/y", "b/x", "c/x")
	p, err := Build(small(map[string]string{"a": "^a/", "b": "^b/"}, "freeze", st("s", "a", "b")), m)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float64, 2)
	if err := p.GroupNorms([]float32{3, 4, 2, 100}, out); err != nil {
		t.Fatal(err)
	}
	if out[0] != 5 || out[1] != 2 {
		t.Errorf("group norms %v, want [5 2]", out)
	}
	if err := p.GroupNorms([]float32{1}, out); err == nil {
		t.Error("short input: no error")
	}
	if err := p.GroupNorms([]float32{1, 2, 3, 4}, out[:1]); err == nil {
		t.Error("short output: no error")
	}
}

func TestStageLookup(t *testing.T) {
	m := manifest("a/x")
	p, err := Build(small(map[string]string{"a": "^a/"}, "error", st("first", "a"), st("second", "a")), m)
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := p.Stage("second"); !ok || s.Index != 1 {
		t.Errorf("Stage(second) = %v, %v", s, ok)
	}
	if _, ok := p.Stage("third"); ok {
		t.Error("Stage(third) found")
	}
}

func BenchmarkBuild(b *testing.B) {
	m := loadExample(b)
	c := withStages(b, st("heads", "heads"), st("4+", "4+"), st("all", "all"))
	for b.Loop() {
		if _, err := Build(c, m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGroupNorms(b *testing.B) {
	m := loadExample(b)
	p, err := Build(withStages(b, st("all", "all")), m)
	if err != nil {
		b.Fatal(err)
	}
	norms := make([]float32, len(m.Variables))
	for i := range norms {
		norms[i] = float32(i)
	}
	out := make([]float64, len(p.Groups))
	for b.Loop() {
		_ = p.GroupNorms(norms, out)
	}
}

// The default group regexes, checked on the names of matterport's own
// weights (its inspect_weights notebook) rather than on our generated
// manifest: every weight is in exactly one group, the one its layer name
// says.
func TestDefaultGroupsOnNotebookWeights(t *testing.T) {
	data, err := os.ReadFile(fixtures.Path(t, "matterport_mask_rcnn_coco_weights.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	m := &graphs.VariablesManifest{ContractVersion: graphs.ContractVersion}
	for line := range strings.Lines(string(data)) {
		name, _, _ := strings.Cut(line, "\t")
		path := strings.TrimSuffix(name, ":0")
		m.Variables = append(m.Variables, graphs.Variable{
			Index: len(m.Variables), Path: path, Layer: filepath.Dir(path), DType: "float32", Trainable: true,
		})
	}
	if len(m.Variables) != 586 {
		t.Fatalf("%d weights, want 586", len(m.Variables))
	}
	p, err := Build(withStages(t, st("all", "all")), m)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range m.Variables {
		if got, want := p.Groups[p.GroupOf[i]].Name, groupByLayer(v.Layer); got != want {
			t.Errorf("%s: group %s, want %s", v.Path, got, want)
		}
	}
}
