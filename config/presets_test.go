package config

import (
	"regexp"
	"slices"
	"testing"
)

func TestPresets(t *testing.T) {
	groups := map[string]string{"conv1": "", "res2": "", "res3": "", "res4": "", "res5": "", "fpn": "", "rpn": "", "mrcnn_class": "", "mrcnn_bbox": "", "mrcnn_mask": ""}
	tests := []struct {
		layers []string
		want   []string
	}{
		{[]string{"heads"}, []string{"rpn", "fpn", "mrcnn_class", "mrcnn_bbox", "mrcnn_mask"}},
		{[]string{"5+"}, []string{"res5", "rpn", "fpn", "mrcnn_class", "mrcnn_bbox", "mrcnn_mask"}},
		{[]string{"4+"}, []string{"res4", "res5", "rpn", "fpn", "mrcnn_class", "mrcnn_bbox", "mrcnn_mask"}},
		{[]string{"3+"}, []string{"res3", "res4", "res5", "rpn", "fpn", "mrcnn_class", "mrcnn_bbox", "mrcnn_mask"}},
		{[]string{"all"}, []string{"conv1", "fpn", "mrcnn_bbox", "mrcnn_class", "mrcnn_mask", "res2", "res3", "res4", "res5", "rpn"}},
		{[]string{"res4", "heads", "rpn"}, []string{"res4", "rpn", "fpn", "mrcnn_class", "mrcnn_bbox", "mrcnn_mask"}},
		{[]string{"matterport:heads", "res4"}, []string{"matterport:heads", "res4"}},
		{nil, nil},
	}
	for _, tt := range tests {
		if got := ExpandLayers(tt.layers, groups); !slices.Equal(got, tt.want) {
			t.Errorf("ExpandLayers(%v) = %v, want %v", tt.layers, got, tt.want)
		}
	}
	if !slices.Equal(PresetNames(), []string{"heads", "3+", "4+", "5+", "all"}) {
		t.Errorf("PresetNames %v", PresetNames())
	}
	if IsPreset("res4") || !IsPreset("3+") {
		t.Error("IsPreset")
	}
	if _, ok := PresetGroups("nope", groups); ok {
		t.Error("PresetGroups of a non-preset")
	}
}

// Each preset's groups cover exactly the Keras layers matterport's regex
// for the preset selects, over one layer name of each group.
func TestPresetsMatchMatterport(t *testing.T) {
	layerOf := map[string][]string{
		"conv1": {"conv1", "bn_conv1"}, "res2": {"res2a_branch2a", "bn2a_branch2a"},
		"res3": {"res3b_branch1", "bn3b_branch1"}, "res4": {"res4w_branch2c", "bn4w_branch2c"},
		"res5": {"res5c_branch2b", "bn5c_branch2b"}, "fpn": {"fpn_c5p5", "fpn_p2"}, "rpn": {"rpn_conv_shared", "rpn_class_raw"},
		"mrcnn_class": {"mrcnn_class_conv1", "mrcnn_class_logits"}, "mrcnn_bbox": {"mrcnn_bbox_fc", "mrcnn_bbox"},
		"mrcnn_mask": {"mrcnn_mask_conv1", "mrcnn_mask"},
	}
	groups := map[string]string{}
	for g := range layerOf {
		groups[g] = ""
	}
	for _, name := range PresetNames() {
		re, _ := PresetRegex(name)
		// Keras's layer filter is re.fullmatch.
		full := regexp.MustCompile("^(?:" + re + ")$")
		gs, _ := PresetGroups(name, groups)
		for g, layers := range layerOf {
			for _, l := range layers {
				if full.MatchString(l) != slices.Contains(gs, g) {
					t.Errorf("preset %s: layer %s (group %s) regex %v, groups %v", name, l, g, full.MatchString(l), gs)
				}
			}
		}
	}
}

// The default group regexes put each matterport layer's variables in the
// group named for it (and in no other).
func TestDefaultGroups(t *testing.T) {
	c := mustLoad(t, Sources{})
	for path, want := range map[string]string{
		"conv1/kernel:0": "conv1", "bn_conv1/gamma:0": "conv1", "res2a_branch2a/kernel:0": "res2", "bn2c_branch2c/beta:0": "res2",
		"res4w_branch2b/bias:0": "res4", "bn4a_branch1/moving_mean:0": "res4", "res5c_branch2c/kernel:0": "res5",
		"fpn_c2p2/kernel:0": "fpn", "rpn_conv_shared/kernel:0": "rpn", "mrcnn_class_logits/bias:0": "mrcnn_class",
		"mrcnn_bbox_fc/kernel:0": "mrcnn_bbox", "mrcnn_mask_deconv/kernel:0": "mrcnn_mask", "mrcnn_mask/bias:0": "mrcnn_mask",
	} {
		var in []string
		for g, re := range c.Groups {
			if regexp.MustCompile(re).MatchString(path) {
				in = append(in, g)
			}
		}
		if len(in) != 1 || in[0] != want {
			t.Errorf("%s in groups %v, want [%s]", path, in, want)
		}
	}
}

func TestNearest(t *testing.T) {
	if d := levenshtein("kitten", "sitting"); d != 3 {
		t.Errorf("levenshtein(kitten, sitting) = %d, want 3", d)
	}
	if d := levenshtein("", "abc"); d != 3 {
		t.Errorf("levenshtein(\"\", abc) = %d", d)
	}
	for _, tt := range []struct {
		s    string
		want string
		ok   bool
	}{
		{"max_step", "max_steps", true},
		{"mask_loss", "mrcnn_mask_loss", true},
		{"zzzzzz", "", false},
	} {
		got, ok := nearest(tt.s, []string{"max_steps", "seed", "mrcnn_mask_loss", "rpn_class_loss"})
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("nearest(%s) = %s %v, want %s %v", tt.s, got, ok, tt.want, tt.ok)
		}
	}
}
