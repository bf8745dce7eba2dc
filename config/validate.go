package config

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/graftrain/graftrain/graphs"
)

// FieldError is one problem with one key: what is wrong, the layer the
// value came from, and how to fix it. Load and Validate join them.
type FieldError struct {
	Key     string
	Source  Source
	Problem string
	Fix     string
}

func (e *FieldError) Error() string {
	var b strings.Builder
	if e.Key == "" {
		b.WriteString(e.Source.String())
	} else {
		fmt.Fprintf(&b, "%s (%s)", e.Key, e.Source)
	}
	b.WriteString(": ")
	b.WriteString(e.Problem)
	if e.Fix != "" {
		b.WriteString("; ")
		b.WriteString(e.Fix)
	}
	return b.String()
}

// FieldErrors unpacks the FieldErrors of a Load or Validate error.
func FieldErrors(err error) []*FieldError {
	var out []*FieldError
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		if fe, ok := err.(*FieldError); ok {
			out = append(out, fe)
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		walk(errors.Unwrap(err))
	}
	walk(err)
	return out
}

// lookup returns the source of a key, or of its nearest ancestor that has
// one; the default layer when nothing is recorded.
func (m sourceMap) lookup(path string) Source {
	for p := path; p != ""; {
		if s, ok := m[p]; ok {
			return s
		}
		i := strings.LastIndexByte(p, '.')
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return Source{Layer: LayerDefault}
}

// Enumerated values of the keys that take one of a fixed set.
var enums = []struct {
	key    string
	get    func(*Config) string
	values []string
}{
	{"log.level", func(c *Config) string { return c.Log.Level }, []string{"debug", "info", "warn", "error"}},
	{"log.format", func(c *Config) string { return c.Log.Format }, []string{"auto", "console", "json"}},
	{"device.kind", func(c *Config) string { return c.Device.Kind }, []string{"auto", "cpu", "gpu", "gpu:N[,M]"}},
	{"model.image_resize_mode", func(c *Config) string { return c.Model.ImageResizeMode }, []string{"square", "pad64", "crop", "none"}},
	{"train.unmatched_variables", func(c *Config) string { return c.Train.UnmatchedVariables }, []string{"error", "freeze"}},
	{"checkpoint.best_mode", func(c *Config) string { return c.Checkpoint.BestMode }, []string{"min", "max"}},
	{"diagnose.on_plateau", func(c *Config) string { return c.Diagnose.OnPlateau }, []string{"warn", "reduce_lr", "next_stage", "stop"}},
}

// gpuList is device.kind's shorthand for kind gpu with device.gpus.
var gpuList = regexp.MustCompile(`^gpu:[0-9]+(,[0-9]+)*$`)

// MatterportPrefix before a preset in a stage's layers selects matterport's
// own layer regex for it (matterport:heads) instead of the preset's groups.
const MatterportPrefix = "matterport:"

// LRSchedules are the values of a stage's lr_schedule.
var lrSchedules = []string{"constant", "step", "cosine"}

// Validate checks the decoded configuration and returns every problem
// joined (errors.Join of *FieldError), each naming its key and source.
func (c *Config) Validate() error {
	v := validator{c: c}
	v.run()
	return errors.Join(v.errs...)
}

type validator struct {
	c    *Config
	errs []error
}

func (v *validator) fail(key, problem, fix string) {
	v.errs = append(v.errs, &FieldError{Key: key, Source: v.c.Source(key), Problem: problem, Fix: fix})
}

func (v *validator) enum(key, val string, values []string) {
	if slices.Contains(values, val) {
		return
	}
	fix := "use one of " + strings.Join(values, ", ")
	if s, ok := nearest(val, values); ok && val != "" {
		fix = "did you mean " + s + "? (" + fix + ")"
	}
	v.fail(key, fmt.Sprintf("%q is not a valid value", val), fix)
}

func (v *validator) nonNegative(key string, x float64) {
	if x < 0 || math.IsNaN(x) {
		v.fail(key, fmt.Sprintf("is %v", x), "use a value >= 0")
	}
}

func (v *validator) run() {
	c := v.c
	for _, e := range enums {
		if e.key == "device.kind" && gpuList.MatchString(c.Device.Kind) {
			continue // gpu:N[,M] names the GPUs too
		}
		v.enum(e.key, e.get(c), e.values)
	}
	if c.Model.BatchSize < 1 {
		v.fail("model.batch_size", fmt.Sprintf("is %d", c.Model.BatchSize), "use 1 or more images per batch")
	}
	if c.Model.NumClasses < 0 {
		v.fail("model.num_classes", fmt.Sprintf("is %d", c.Model.NumClasses), "use 0 (from the dataset) or the class count including background")
	}
	if f := c.Device.MemoryFraction; f < 0 || f > 1 {
		v.fail("device.memory_fraction", fmt.Sprintf("is %v", f), "use a fraction between 0 and 1 (0: TensorFlow's default)")
	}
	v.nonNegative("optimizer.clip_norm", c.Optimizer.ClipNorm)
	v.nonNegative("optimizer.weight_decay", c.Optimizer.WeightDecay)
	for _, kn := range []struct {
		key string
		n   int64
	}{
		{"train.max_steps", c.Train.MaxSteps}, {"train.steps_per_epoch", c.Train.StepsPerEpoch},
		{"checkpoint.every_steps", c.Checkpoint.EverySteps}, {"checkpoint.keep_last", int64(c.Checkpoint.KeepLast)},
		{"checkpoint.keep_best", int64(c.Checkpoint.KeepBest)}, {"data.workers", int64(c.Data.Workers)},
	} {
		if kn.n < 0 {
			v.fail(kn.key, fmt.Sprintf("is %d", kn.n), "use 0 or more")
		}
	}
	v.groups()
	v.stages()
}

func (v *validator) groups() {
	for _, name := range slices.Sorted(maps.Keys(v.c.Groups)) {
		key := "groups." + name
		if IsPreset(name) {
			v.fail(key, fmt.Sprintf("group name %q is a layer preset", name), "rename the group; presets are "+strings.Join(PresetNames(), ", "))
		}
		re := v.c.Groups[name]
		if re == "" {
			v.fail(key, "empty regex (it would match every variable)", "give a regex over variable paths, e.g. ^res4")
			continue
		}
		if _, err := regexp.Compile(re); err != nil {
			v.fail(key, fmt.Sprintf("bad regex %q: %v", re, err), "fix the pattern (Go RE2 syntax; no look-around or back-references)")
		}
	}
}

func (v *validator) stages() {
	c := v.c
	if len(c.Stages) == 0 {
		v.fail("stages", "no stages", "add at least one stage with layers and epochs or steps")
		return
	}
	groupNames := slices.Sorted(maps.Keys(c.Groups))
	seen := map[string]int{}
	for i, s := range c.Stages {
		key := "stages." + strconv.Itoa(i)
		k := func(sub string) string { return key + "." + sub }
		if s.Name == "" {
			v.fail(k("name"), "stage has no name", "give each stage a name (it labels metrics and checkpoints)")
		} else if j, dup := seen[s.Name]; dup {
			v.fail(k("name"), fmt.Sprintf("name %q is also stage %d's", s.Name, j), "give each stage a distinct name")
		} else {
			seen[s.Name] = i
		}
		if len(s.Layers) == 0 {
			v.fail(k("layers"), "stage trains nothing (empty layers)", "give a preset ("+strings.Join(PresetNames(), ", ")+") or a list of group names")
		}
		for j, l := range s.Layers {
			lk := k("layers")
			if len(s.Layers) > 1 {
				lk = k("layers." + strconv.Itoa(j))
			}
			if name, ok := strings.CutPrefix(l, MatterportPrefix); ok {
				if !IsPreset(name) {
					v.fail(lk, fmt.Sprintf("%q names no preset", l), "use "+MatterportPrefix+"PRESET with a preset of "+strings.Join(PresetNames(), ", "))
				}
				continue
			}
			if p, ok := findPreset(l); ok {
				var missing []string
				for _, g := range p.groups {
					if _, ok := c.Groups[g]; !ok {
						missing = append(missing, g)
					}
				}
				if len(missing) > 0 {
					v.fail(lk, fmt.Sprintf("preset %q trains groups %s, not defined in groups", l, strings.Join(missing, ", ")),
						"define them (a config file's groups replace the default ones) or list the groups to train")
				}
				continue
			}
			if _, ok := c.Groups[l]; ok {
				continue
			}
			fix := "use a preset (" + strings.Join(PresetNames(), ", ") + ") or a group name (" + strings.Join(groupNames, ", ") + ")"
			if s, ok := nearest(l, append(PresetNames(), groupNames...)); ok {
				fix = "did you mean " + s + "? (" + fix + ")"
			}
			v.fail(lk, fmt.Sprintf("%q is neither a preset nor a group", l), fix)
		}
		if s.Epochs < 0 {
			v.fail(k("epochs"), fmt.Sprintf("is %d", s.Epochs), "use 1 or more epochs")
		}
		if s.Steps < 0 {
			v.fail(k("steps"), fmt.Sprintf("is %d", s.Steps), "use 1 or more steps")
		}
		if s.Epochs == 0 && s.Steps == 0 {
			v.fail(key, "stage has neither epochs nor steps", "set "+k("epochs")+" or "+k("steps"))
		}
		if s.LearningRate < 0 || math.IsNaN(s.LearningRate) {
			v.fail(k("learning_rate"), fmt.Sprintf("negative learning rate %v", s.LearningRate), "use a learning rate >= 0 (e.g. 0.001)")
		}
		v.enum(k("lr_schedule"), s.LRSchedule, lrSchedules)
		if s.LRSchedule == "step" {
			if s.LRDecaySteps <= 0 {
				v.fail(k("lr_decay_steps"), fmt.Sprintf("is %d with lr_schedule step", s.LRDecaySteps), "give the number of steps between decays")
			}
			if s.LRDecayFactor <= 0 {
				v.fail(k("lr_decay_factor"), fmt.Sprintf("is %v with lr_schedule step", s.LRDecayFactor), "use a factor > 0, e.g. 0.1")
			}
		}
		if s.WarmupSteps < 0 {
			v.fail(k("warmup_steps"), fmt.Sprintf("is %d", s.WarmupSteps), "use 0 or more")
		}
		for _, g := range slices.Sorted(maps.Keys(s.LRMultipliers)) {
			mk := k("lr_multipliers." + g)
			if _, ok := c.Groups[g]; !ok {
				fix := "name a group (" + strings.Join(groupNames, ", ") + ")"
				if n, ok := nearest(g, groupNames); ok {
					fix = "did you mean " + n + "? (" + fix + ")"
				}
				v.fail(mk, fmt.Sprintf("group %q is not defined", g), fix)
			}
			v.nonNegative(mk, s.LRMultipliers[g])
		}
		for _, name := range slices.Sorted(maps.Keys(s.LossWeights)) {
			wk := k("loss_weights." + name)
			if !slices.Contains(graphs.LossNames[:], name) {
				fix := "use " + strings.Join(graphs.LossNames[:], ", ")
				if n, ok := nearest(name, graphs.LossNames[:]); ok {
					fix = "did you mean " + n + "? (" + fix + ")"
				}
				v.fail(wk, fmt.Sprintf("unknown loss %q", name), fix)
			}
			v.nonNegative(wk, s.LossWeights[name])
		}
		v.nonNegative(k("rpn_min_proposal_size"), s.RPNMinProposalSize)
	}
}
