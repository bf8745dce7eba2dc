package config

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// noEnv keeps the test process's environment out of Load.
var noEnv = []string{}

func mustLoad(t *testing.T, s Sources) *Config {
	t.Helper()
	if s.Environ == nil {
		s.Environ = noEnv
	}
	c, err := Load(s)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// seedFlags is a command's flag set with --seed bound to train.seed.
func seedFlags(t *testing.T, args ...string) *pflag.FlagSet {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	fs.Int64("seed", 0, "")
	fs.Int64("unbound", 0, "")
	if err := fs.SetAnnotation("seed", FlagKeyAnnotation, []string{"train.seed"}); err != nil {
		t.Fatal(err)
	}
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return fs
}

// Each layer overrides the one below it, and the source says which won.
func TestLayerOrder(t *testing.T) {
	file := writeFile(t, "c.yaml", "run:\n  dir: x\ntrain:\n  seed: 1\n")
	tests := []struct {
		name   string
		s      Sources
		seed   int64
		source string
	}{
		{"defaults", Sources{}, 42, "default"},
		{"file over defaults", Sources{File: file}, 1, file + ":4"},
		{"env over file", Sources{File: file, Environ: []string{"GRAFTRAIN_TRAIN_SEED=2"}}, 2, "env GRAFTRAIN_TRAIN_SEED"},
		{"flag over env", Sources{File: file, Environ: []string{"GRAFTRAIN_TRAIN_SEED=2"}, Flags: seedFlags(t, "--seed=3")}, 3, "flag --seed"},
		{"unchanged flag leaves env", Sources{File: file, Environ: []string{"GRAFTRAIN_TRAIN_SEED=2"}, Flags: seedFlags(t)}, 2, "env GRAFTRAIN_TRAIN_SEED"},
		{"unbound flag ignored", Sources{File: file, Flags: seedFlags(t, "--unbound=9")}, 1, file + ":4"},
		{"--set over flag", Sources{File: file, Environ: []string{"GRAFTRAIN_TRAIN_SEED=2"}, Flags: seedFlags(t, "--seed=3"), Sets: []string{"train.seed=4"}}, 4, "--set train.seed=4"},
		{"last --set wins", Sources{Sets: []string{"train.seed=4", "train.seed=5"}}, 5, "--set train.seed=5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustLoad(t, tt.s)
			if c.Train.Seed != tt.seed {
				t.Errorf("train.seed = %d, want %d", c.Train.Seed, tt.seed)
			}
			if got := c.Source("train.seed").String(); got != tt.source {
				t.Errorf("source %q, want %q", got, tt.source)
			}
			if tt.s.File != "" && c.Run.Dir != "x" {
				t.Errorf("run.dir = %q, want the file's x", c.Run.Dir)
			}
		})
	}
}

func TestSet(t *testing.T) {
	file := writeFile(t, "two.yaml", `groups:
  backbone: ^res
  rpn: ^rpn_
stages:
  - {name: a, layers: rpn, epochs: 1}
  - {name: b, layers: [backbone, rpn], steps: 5, lr_multipliers: {rpn: 0.5}}
`)
	tests := []struct {
		name  string
		sets  []string
		check func(*Config) any
		want  any
	}{
		{"list index into a stage", []string{"stages.1.lr_multipliers.backbone=0.1"},
			func(c *Config) any { return c.Stages[1].LRMultipliers }, map[string]float64{"backbone": 0.1, "rpn": 0.5}},
		{"YAML list value", []string{"model.rpn_anchor_scales=[16,32,64,128,256]"},
			func(c *Config) any { return c.Model.RPNAnchorScales }, []float64{16, 32, 64, 128, 256}},
		{"element of a scalar list", []string{"model.backbone_strides.0=2"},
			func(c *Config) any { return c.Model.BackboneStrides }, []int{2, 8, 16, 32, 64}},
		{"YAML list of layers", []string{"stages.0.layers=[backbone, rpn]"},
			func(c *Config) any { return c.Stages[0].Layers }, []string{"backbone", "rpn"}},
		{"string is a one-item layers list", []string{"stages.1.layers=all"},
			func(c *Config) any { return c.Stages[1].Layers }, []string{"all"}},
		{"append a stage, filled from the default stage", []string{"stages.2.name=c", "stages.2.layers=all", "stages.2.steps=7"},
			func(c *Config) any {
				return []any{len(c.Stages), c.Stages[2].Steps, c.Stages[2].LRSchedule, c.Stages[2].LossWeights["mrcnn_mask_loss"]}
			}, []any{3, int64(7), "constant", 1.0}},
		{"regex text stays text", []string{"groups.fpn=^fpn_(a|b):"},
			func(c *Config) any { return c.Groups["fpn"] }, "^fpn_(a|b):"},
		{"number for a string key", []string{"device.gpus=0"},
			func(c *Config) any { return c.Device.GPUs }, "0"},
		{"value with '='", []string{"run.dir=a=b"},
			func(c *Config) any { return c.Run.Dir }, "a=b"},
		{"keys are lower-cased", []string{"Train.Max_Steps=9"},
			func(c *Config) any { return c.Train.MaxSteps }, int64(9)},
		{"boolean", []string{"stages.0.train_bn=true"},
			func(c *Config) any { return c.Stages[0].TrainBN }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustLoad(t, Sources{File: file, Sets: tt.sets})
			if got := tt.check(c); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
	c := mustLoad(t, Sources{File: file, Sets: []string{"model.backbone_strides.0=2"}})
	if got := c.Source("model.backbone_strides").String(); got != "--set model.backbone_strides.0=2" {
		t.Errorf("source of a list changed by element: %q", got)
	}
}

func TestSetErrors(t *testing.T) {
	tests := []struct {
		set  string
		want string
	}{
		{"train.seed", "--set train.seed: not key=value; write --set key=value, e.g. --set train.seed=7"},
		{"=3", "--set =3: not key=value; write --set key=value, e.g. --set train.seed=7"},
		{"stages.5.name=x", "stages.5.name (--set stages.5.name=x): stages has 1 items: index 5 is past its end (use 1 to append); check the key against `graftrain config show`"},
		{"stages.x.name=y", `stages.x.name (--set stages.x.name=y): stages is a list: "x" is not an index; check the key against ` + "`graftrain config show`"},
		{"train.seed.x=1", `train.seed.x (--set train.seed.x=1): train.seed holds a single value (42): it has no key "x"; check the key against ` + "`graftrain config show`"},
		{"train..seed=1", "train..seed (--set train..seed=1): empty part in the key; write dotted keys like stages.1.learning_rate"},
		{"model.tags=[a", "model.tags (--set model.tags=[a): value \"[a\" is not valid YAML: yaml: line 1: did not find expected ',' or ']'; quote strings with special characters, write lists as [a, b]"},
		{"train.sed=1", "train.sed (--set train.sed=1): unknown key; did you mean train.seed?"},
		{"train.seed=x", "train.seed (--set train.seed=x): is the string \"x\", want an integer; give an integer"},
	}
	for _, tt := range tests {
		t.Run(tt.set, func(t *testing.T) {
			_, err := Load(Sources{Sets: []string{tt.set}, Environ: noEnv})
			got := messages(err)
			if len(got) != 1 || got[0] != tt.want {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), tt.want)
			}
		})
	}
}

func messages(err error) []string {
	var out []string
	for _, fe := range FieldErrors(err) {
		out = append(out, fe.Error())
	}
	if err != nil && len(out) == 0 {
		out = append(out, "not a FieldError: "+err.Error())
	}
	return out
}

func TestEnv(t *testing.T) {
	tests := []struct {
		env    string
		check  func(*Config) any
		want   any
		source string
	}{
		{"GRAFTRAIN_TRAIN_SEED=7", func(c *Config) any { return c.Train.Seed }, int64(7), "train.seed"},
		{"GRAFTRAIN_TRAIN_MAX_STEPS=20", func(c *Config) any { return c.Train.MaxSteps }, int64(20), "train.max_steps"},
		{"GRAFTRAIN_MODEL_TAGS=[serve, train]", func(c *Config) any { return c.Model.Tags }, []string{"serve", "train"}, "model.tags"},
		{"GRAFTRAIN_DATA_TRAIN_IMAGES=/d/img", func(c *Config) any { return c.Data.Train.Images }, "/d/img", "data.train.images"},
		{"GRAFTRAIN_GROUPS_FPN=^fpn_x", func(c *Config) any { return c.Groups["fpn"] }, "^fpn_x", "groups.fpn"},
		{"GRAFTRAIN_STAGES_0_LOSS_WEIGHTS_MRCNN_MASK_LOSS=2", func(c *Config) any { return c.Stages[0].LossWeights["mrcnn_mask_loss"] }, 2.0, "stages.0.loss_weights.mrcnn_mask_loss"},
		{"GRAFTRAIN_STAGES_0_LR_MULTIPLIERS_RPN=0.2", func(c *Config) any { return c.Stages[0].LRMultipliers }, map[string]float64{"rpn": 0.2}, "stages.0.lr_multipliers.rpn"},
		{"GRAFTRAIN_DEVICE_XLA=true", func(c *Config) any { return c.Device.XLA }, true, "device.xla"},
		{"GRAFTRAIN_FIXTURES=/somewhere", func(c *Config) any { return c.Train.Seed }, int64(42), "train.seed"},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			c := mustLoad(t, Sources{Environ: []string{"PATH=/bin", tt.env}})
			if got := tt.check(c); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
			name, _, _ := strings.Cut(tt.env, "=")
			want := "env " + name
			if name == "GRAFTRAIN_FIXTURES" {
				want = "default"
			}
			if got := c.Source(tt.source).String(); got != want {
				t.Errorf("source %q, want %q", got, want)
			}
			if name != "GRAFTRAIN_FIXTURES" && EnvName(tt.source) != name {
				t.Errorf("EnvName(%s) = %s, want %s", tt.source, EnvName(tt.source), name)
			}
		})
	}
	for _, tt := range []struct{ env, want string }{
		{"GRAFTRAIN_TRAIN_SEEED=1", "env GRAFTRAIN_TRAIN_SEEED: names no config key; did you mean GRAFTRAIN_TRAIN_SEED?"},
		{"GRAFTRAIN_TRAIN_WHATEVER_THING=1", "env GRAFTRAIN_TRAIN_WHATEVER_THING: names no config key; unset it or name a key: GRAFTRAIN_ + the key in upper case with '_' for '.'"},
		{"GRAFTRAIN_TRAIN_SEED=abc", "train.seed (env GRAFTRAIN_TRAIN_SEED): is the string \"abc\", want an integer; give an integer"},
	} {
		_, err := Load(Sources{Environ: []string{tt.env}})
		if got := messages(err); len(got) != 1 || got[0] != tt.want {
			t.Errorf("%s: errors %q, want %q", tt.env, got, tt.want)
		}
	}
}

// Every key of the embedded defaults comes from the default layer.
func TestDefaults(t *testing.T) {
	c := mustLoad(t, Sources{})
	for k, s := range c.Sources() {
		if s.Layer != LayerDefault || s.String() != "default" {
			t.Errorf("%s: source %v", k, s)
		}
	}
	if c.Train.Seed != 42 || c.Stages[0].Name != "heads" || !slices.Equal(c.Stages[0].Layers, []string{"heads"}) ||
		c.Stages[0].LearningRate != 0.001 || c.Groups["fpn"] != "^fpn_" || c.Model.Tags[0] != "serve" {
		t.Errorf("defaults not decoded: %+v", c)
	}
}

func TestFileFormats(t *testing.T) {
	want := mustLoad(t, Sources{File: "testdata/good.yaml"})
	for _, f := range []string{"testdata/good.toml", "testdata/good.json"} {
		got := mustLoad(t, Sources{File: f})
		got.sources, want.sources = nil, nil
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s differs from good.yaml:\n%+v\n%+v", f, got, want)
		}
	}
	abs, _ := filepath.Abs("testdata")
	if want.Model.Variables != filepath.Join(abs, "vars.json") || want.Data.Train.Annotations != filepath.Join(abs, "coco/train.json") {
		t.Errorf("relative paths not resolved against the file: %q %q", want.Model.Variables, want.Data.Train.Annotations)
	}
	if want.Data.Train.Images != "/data/coco/train2017" {
		t.Errorf("absolute path changed: %q", want.Data.Train.Images)
	}
	if want.Run.Dir != "runs/fine" {
		t.Errorf("run.dir %q is resolved; it is relative to the working directory", want.Run.Dir)
	}
	for f, want := range map[string]string{
		"testdata/good.yaml": "testdata/good.yaml:32", "testdata/good.json": "testdata/good.json:14", "testdata/good.toml": "testdata/good.toml",
	} {
		if got := mustLoad(t, Sources{File: f}).Source("stages.1.lr_multipliers.rpn").String(); got != want {
			t.Errorf("%s: source %q, want %q", f, got, want)
		}
	}
	// A path from --set stays relative to the working directory.
	c := mustLoad(t, Sources{File: "testdata/good.yaml", Sets: []string{"model.variables=v.json"}})
	if c.Model.Variables != "v.json" {
		t.Errorf("--set path resolved: %q", c.Model.Variables)
	}
}

// The good file's stages get the default stage's settings they leave out,
// and a file's groups replace the default groups.
func TestStageDefaultsAndGroups(t *testing.T) {
	c := mustLoad(t, Sources{File: "testdata/good.yaml"})
	warm, fine := c.Stages[0], c.Stages[1]
	if warm.Epochs != 2 || warm.Steps != 0 || warm.LRSchedule != "constant" || warm.LRDecayFactor != 0.1 {
		t.Errorf("warm: %+v", warm)
	}
	wantW := map[string]float64{"rpn_class_loss": 1, "rpn_bbox_loss": 1, "mrcnn_class_loss": 1, "mrcnn_bbox_loss": 1, "mrcnn_mask_loss": 2}
	if !reflect.DeepEqual(fine.LossWeights, wantW) {
		t.Errorf("fine loss weights %v, want %v", fine.LossWeights, wantW)
	}
	if fine.Epochs != 0 || fine.Steps != 1000 || fine.WarmupSteps != 100 || fine.LRSchedule != "cosine" {
		t.Errorf("fine: %+v", fine)
	}
	if _, ok := c.Groups["res4"]; ok || len(c.Groups) != 6 {
		t.Errorf("groups %v: want the file's six only", c.Groups)
	}
	for key, want := range map[string]string{
		"stages.1.loss_weights.mrcnn_mask_loss": "testdata/good.yaml:34",
		"stages.1.loss_weights.rpn_class_loss":  "default",
		"stages.0.steps":                        "default",
		"stages.0.layers":                       "testdata/good.yaml:21",
		"groups.backbone":                       "testdata/good.yaml:13",
		"train.seed":                            "default",
	} {
		if got := c.Source(key).String(); got != want {
			t.Errorf("source of %s: %q, want %q", key, got, want)
		}
	}
}

func TestViperHoldsEffectiveConfig(t *testing.T) {
	v := viper.New()
	mustLoad(t, Sources{Viper: v, Sets: []string{"train.seed=9", "stages.0.learning_rate=0.5"}})
	if v.GetInt64("train.seed") != 9 || v.GetString("log.level") != "info" {
		t.Errorf("viper: seed %d level %q", v.GetInt64("train.seed"), v.GetString("log.level"))
	}
}

func TestFileErrors(t *testing.T) {
	for _, tt := range []struct{ name, text, want string }{
		{"list.yaml", "- a\n- b\n", "the top level must be a mapping of keys, not a list"},
		{"syntax.yaml", "train:\n  seed: 1\n bad: [\n", "line 2"},
		{"c.ini", "a=1", `unknown extension ".ini"`},
		{"bad.json", "{", "bad.json"},
		{"cycle.yaml", "a: &a [*a]\n", "alias refers to a node that contains it"},
		{"laughs.yaml", "a: &a [1,2,3,4,5,6,7,8,9,10]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n" +
			"d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n", "aliases expand too far"},
	} {
		_, err := Load(Sources{File: writeFile(t, tt.name, tt.text), Environ: noEnv})
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.name) {
			t.Errorf("%s: err %v, want it to name the file and %q", tt.name, err, tt.want)
		}
	}
	if _, err := Load(Sources{File: "testdata/missing.yaml", Environ: noEnv}); err == nil || !os.IsNotExist(errorsUnwrapAll(err)) {
		t.Errorf("missing file: %v", err)
	}
}

func errorsUnwrapAll(err error) error {
	for {
		u := errorsUnwrap(err)
		if u == nil {
			return err
		}
		err = u
	}
}

func errorsUnwrap(err error) error {
	u, ok := err.(interface{ Unwrap() error })
	if !ok {
		return nil
	}
	return u.Unwrap()
}
