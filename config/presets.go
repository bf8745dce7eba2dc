package config

import (
	"maps"
	"slices"
)

// A preset names a set of groups as matterport's train(layers=...) does.
// Groups are the default group names; "all" is every configured group.
type preset struct {
	name   string
	groups []string // nil for "all"
	regex  string   // matterport's own layer regex for the preset
}

var presets = []preset{
	{"heads", []string{"rpn", "fpn", "mrcnn_class", "mrcnn_bbox", "mrcnn_mask"},
		`(mrcnn\_.*)|(rpn\_.*)|(fpn\_.*)`},
	{"3+", []string{"res3", "res4", "res5", "rpn", "fpn", "mrcnn_class", "mrcnn_bbox", "mrcnn_mask"},
		`(res3.*)|(bn3.*)|(res4.*)|(bn4.*)|(res5.*)|(bn5.*)|(mrcnn\_.*)|(rpn\_.*)|(fpn\_.*)`},
	{"4+", []string{"res4", "res5", "rpn", "fpn", "mrcnn_class", "mrcnn_bbox", "mrcnn_mask"},
		`(res4.*)|(bn4.*)|(res5.*)|(bn5.*)|(mrcnn\_.*)|(rpn\_.*)|(fpn\_.*)`},
	{"5+", []string{"res5", "rpn", "fpn", "mrcnn_class", "mrcnn_bbox", "mrcnn_mask"},
		`(res5.*)|(bn5.*)|(mrcnn\_.*)|(rpn\_.*)|(fpn\_.*)`},
	{"all", nil, `.*`},
}

// PresetNames returns the layer presets in order: heads, 3+, 4+, 5+, all.
func PresetNames() []string {
	out := make([]string, len(presets))
	for i, p := range presets {
		out[i] = p.name
	}
	return out
}

// IsPreset reports whether name is a layer preset.
func IsPreset(name string) bool {
	_, ok := findPreset(name)
	return ok
}

func findPreset(name string) (preset, bool) {
	for _, p := range presets {
		if p.name == name {
			return p, true
		}
	}
	return preset{}, false
}

// PresetGroups returns the groups a preset trains given the configured
// groups ("all" is every configured group, sorted), and false for a name
// that is not a preset.
func PresetGroups(name string, groups map[string]string) ([]string, bool) {
	p, ok := findPreset(name)
	if !ok {
		return nil, false
	}
	if p.groups == nil {
		return slices.Sorted(maps.Keys(groups)), true
	}
	return slices.Clone(p.groups), true
}

// PresetRegex returns matterport's layer regex for a preset (matched
// against Keras layer names), and false for a name that is not a preset.
func PresetRegex(name string) (string, bool) {
	p, ok := findPreset(name)
	return p.regex, ok
}

// ExpandLayers turns a stage's layers (presets and group names, mixed) into
// the group names it trains, in order, each once. Entries of the form
// matterport:PRESET are regex selections, not groups, and are kept as they
// are.
func ExpandLayers(layers []string, groups map[string]string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(g string) {
		if !seen[g] {
			seen[g] = true
			out = append(out, g)
		}
	}
	for _, l := range layers {
		if gs, ok := PresetGroups(l, groups); ok {
			for _, g := range gs {
				add(g)
			}
			continue
		}
		add(l)
	}
	return out
}
