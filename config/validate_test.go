package config

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// badConfigs lists, for every testdata/*.bad.yaml, the exact errors Load
// reports, in order: the key, the layer with file:line, and the fix.
var badConfigs = []struct {
	file string
	want []string
}{
	{"bad_regex.bad.yaml", []string{
		"groups.backbone (testdata/bad_regex.bad.yaml:2): bad regex \"^(res[2-5]\": error parsing regexp: missing closing ): `^(res[2-5]`; fix the pattern (Go RE2 syntax; no look-around or back-references)",
		"groups.empty (testdata/bad_regex.bad.yaml:4): empty regex (it would match every variable); give a regex over variable paths, e.g. ^res4",
		"groups.heads (testdata/bad_regex.bad.yaml:5): group name \"heads\" is a layer preset; rename the group; presets are heads, 3+, 4+, 5+, all",
		"groups.lookahead (testdata/bad_regex.bad.yaml:3): bad regex \"^rpn_(?=x)\": error parsing regexp: invalid or unsupported Perl syntax: `(?=`; fix the pattern (Go RE2 syntax; no look-around or back-references)",
	}},
	{"enums.bad.yaml", []string{
		"log.level (testdata/enums.bad.yaml:2): \"verbose\" is not a valid value; use one of debug, info, warn, error",
		"log.format (testdata/enums.bad.yaml:3): \"xml\" is not a valid value; use one of auto, console, json",
		"device.kind (testdata/enums.bad.yaml:5): \"tpu\" is not a valid value; did you mean cpu? (use one of auto, cpu, gpu, gpu:N[,M])",
		"model.image_resize_mode (testdata/enums.bad.yaml:7): \"fit\" is not a valid value; use one of square, pad64, crop, none",
		"train.unmatched_variables (testdata/enums.bad.yaml:9): \"ignore\" is not a valid value; use one of error, freeze",
		"checkpoint.best_mode (testdata/enums.bad.yaml:11): \"lowest\" is not a valid value; use one of min, max",
		"diagnose.on_plateau (testdata/enums.bad.yaml:13): \"panic\" is not a valid value; use one of warn, reduce_lr, next_stage, stop",
	}},
	{"numbers.bad.yaml", []string{
		"stages.0.lr_multipliers.my group (testdata/numbers.bad.yaml:27): name \"my group\" is empty or holds a dot or space; use lower-case names of letters, digits, '_' or '-'",
		"model.batch_size (testdata/numbers.bad.yaml:2): is 0; use 1 or more images per batch",
		"model.num_classes (testdata/numbers.bad.yaml:3): is -1; use 0 (from the dataset) or the class count including background",
		"device.memory_fraction (testdata/numbers.bad.yaml:5): is 1.5; use a fraction between 0 and 1 (0: TensorFlow's default)",
		"optimizer.clip_norm (testdata/numbers.bad.yaml:7): is -1; use a value >= 0",
		"optimizer.weight_decay (testdata/numbers.bad.yaml:8): is -0.1; use a value >= 0",
		"train.max_steps (testdata/numbers.bad.yaml:10): is -1; use 0 or more",
		"train.steps_per_epoch (testdata/numbers.bad.yaml:11): is -2; use 0 or more",
		"checkpoint.every_steps (testdata/numbers.bad.yaml:13): is -3; use 0 or more",
		"checkpoint.keep_last (testdata/numbers.bad.yaml:14): is -1; use 0 or more",
		"checkpoint.keep_best (testdata/numbers.bad.yaml:15): is -1; use 0 or more",
		"data.workers (testdata/numbers.bad.yaml:17): is -4; use 0 or more",
		"stages.0.epochs (testdata/numbers.bad.yaml:21): is -1; use 1 or more epochs",
		"stages.0.lr_decay_factor (testdata/numbers.bad.yaml:24): is 0 with lr_schedule step; use a factor > 0, e.g. 0.1",
		"stages.0.rpn_min_proposal_size (testdata/numbers.bad.yaml:25): is -2; use a value >= 0",
	}},
	{"presets.bad.yaml", []string{
		"groups.heads (testdata/presets.bad.yaml:3): group name \"heads\" is a layer preset; rename the group; presets are heads, 3+, 4+, 5+, all",
		"stages.0.layers (testdata/presets.bad.yaml:6): preset \"4+\" trains groups res4, res5, rpn, fpn, mrcnn_class, mrcnn_bbox, mrcnn_mask, not defined in groups; define them (a config file's groups replace the default ones) or list the groups to train",
	}},
	{"stages.bad.yaml", []string{
		"stages.0 (testdata/stages.bad.yaml:2): stage has neither epochs nor steps; set stages.0.epochs or stages.0.steps",
		"stages.0.learning_rate (testdata/stages.bad.yaml:4): negative learning rate -0.001; use a learning rate >= 0 (e.g. 0.001)",
		"stages.1.layers (testdata/stages.bad.yaml:6): stage trains nothing (empty layers); give a preset (heads, 3+, 4+, 5+, all) or a list of group names",
		"stages.2.name (testdata/stages.bad.yaml:8): name \"heads\" is also stage 0's; give each stage a distinct name",
		"stages.2.layers.0 (testdata/stages.bad.yaml:9): \"hedas\" is neither a preset nor a group; did you mean heads? (use a preset (heads, 3+, 4+, 5+, all) or a group name (conv1, fpn, mrcnn_bbox, mrcnn_class, mrcnn_mask, res2, res3, res4, res5, rpn))",
		"stages.2.layers.2 (testdata/stages.bad.yaml:9): \"backbone\" is neither a preset nor a group; use a preset (heads, 3+, 4+, 5+, all) or a group name (conv1, fpn, mrcnn_bbox, mrcnn_class, mrcnn_mask, res2, res3, res4, res5, rpn)",
		"stages.2.steps (testdata/stages.bad.yaml:10): is -5; use 1 or more steps",
		"stages.2.lr_schedule (testdata/stages.bad.yaml:11): \"linear\" is not a valid value; use one of constant, step, cosine",
		"stages.3.name (testdata/stages.bad.yaml:12): stage has no name; give each stage a name (it labels metrics and checkpoints)",
		"stages.3.lr_decay_steps (default): is 0 with lr_schedule step; give the number of steps between decays",
		"stages.3.warmup_steps (testdata/stages.bad.yaml:15): is -1; use 0 or more",
		"stages.4.layers.1 (testdata/stages.bad.yaml:17): \"matterport:6+\" names no preset; use matterport:PRESET with a preset of heads, 3+, 4+, 5+, all",
	}},
	{"unknown_key.bad.yaml", []string{
		"chekpoint (testdata/unknown_key.bad.yaml:4): unknown key; did you mean checkpoint?",
		"seed (testdata/unknown_key.bad.yaml:3): unknown key; did you mean train.seed? (the key belongs there)",
		"stages.0.learnig_rate (testdata/unknown_key.bad.yaml:10): unknown key; did you mean stages.0.learning_rate?",
		"stages.1.epoch (testdata/unknown_key.bad.yaml:13): unknown key; did you mean stages.1.epochs?",
		"train.max_step (testdata/unknown_key.bad.yaml:2): unknown key; did you mean train.max_steps?",
		"stages.1 (testdata/unknown_key.bad.yaml:11): stage has neither epochs nor steps; set stages.1.epochs or stages.1.steps",
	}},
	{"weights.bad.yaml", []string{
		"stages.0.lr_multipliers.backbone (testdata/weights.bad.yaml:6): group \"backbone\" is not defined; name a group (conv1, fpn, mrcnn_bbox, mrcnn_class, mrcnn_mask, res2, res3, res4, res5, rpn)",
		"stages.0.lr_multipliers.rpn (testdata/weights.bad.yaml:7): is -0.2; use a value >= 0",
		"stages.0.loss_weights.mask_loss (testdata/weights.bad.yaml:9): unknown loss \"mask_loss\"; did you mean mrcnn_mask_loss? (use rpn_class_loss, rpn_bbox_loss, mrcnn_class_loss, mrcnn_bbox_loss, mrcnn_mask_loss)",
		"stages.0.loss_weights.rpn_class_loss (testdata/weights.bad.yaml:10): is -1; use a value >= 0",
	}},
	{"wrong_type.bad.yaml", []string{
		"data.shuffle (testdata/wrong_type.bad.yaml:8): is the string \"yes\", want true or false; give true or false",
		"groups (testdata/wrong_type.bad.yaml:9): is a list, want a mapping of name to string; write it as name: value lines",
		"model.rpn_anchor_scales.1 (testdata/wrong_type.bad.yaml:6): is the string \"x\", want a number; give a number",
		"model.tags (testdata/wrong_type.bad.yaml:5): is 3, want a list of strings (or one string); write a YAML list, e.g. [a, b]",
		"train.max_steps (testdata/wrong_type.bad.yaml:3): is 1.5, want an integer; give an integer",
		"train.seed (testdata/wrong_type.bad.yaml:2): is the string \"abc\", want an integer; give an integer",
	}},
}

func TestBadConfigs(t *testing.T) {
	files, err := filepath.Glob("testdata/*.bad.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, tt := range badConfigs {
		listed = append(listed, filepath.Join("testdata", tt.file))
		t.Run(tt.file, func(t *testing.T) {
			c, err := Load(Sources{File: filepath.Join("testdata", tt.file), Environ: noEnv})
			if c != nil {
				t.Error("Load returned a config with the errors")
			}
			got := messages(err)
			if !slices.Equal(got, tt.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
	for _, f := range files {
		if !slices.Contains(listed, f) {
			t.Errorf("%s has no expected errors in badConfigs", f)
		}
	}
}

// Validate works on a Config built in code (no sources: every key reports
// the default layer).
func TestValidateBuilt(t *testing.T) {
	c := mustLoad(t, Sources{})
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	built := Config{
		Log:        Log{Level: "info", Format: "json"},
		Device:     Device{Kind: "cpu"},
		Model:      Model{BatchSize: 1, ImageResizeMode: "square"},
		Train:      Train{UnmatchedVariables: "freeze"},
		Groups:     map[string]string{"all_vars": ".*"},
		Stages:     []Stage{{Name: "s", Layers: []string{"all_vars"}, Steps: 1, LRSchedule: "constant", LearningRate: -1}},
		Checkpoint: Checkpoint{BestMode: "max"},
		Diagnose:   Diagnose{OnPlateau: "stop"},
	}
	got := messages(built.Validate())
	want := []string{"stages.0.learning_rate (default): negative learning rate -1; use a learning rate >= 0 (e.g. 0.001)"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if err := (&Config{Log: Log{Level: "info", Format: "auto"}}).Validate(); err == nil || !strings.Contains(err.Error(), "stages (default): no stages") {
		t.Errorf("empty config: %v", err)
	}
}
