package stage

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"path"
	"slices"
	"strings"

	"github.com/graftrain/graftrain/config"
	"github.com/graftrain/graftrain/graphs"
	"github.com/graftrain/graftrain/train/schedule"
)

// Values of train.unmatched_variables.
const (
	UnmatchedError  = "error"
	UnmatchedFreeze = "freeze"
)

// Plan is every stage of a config resolved against a model's variables.
// It is computed once by Build and read-only afterwards.
type Plan struct {
	Model     string            // the manifest's model description
	Variables []graphs.Variable // the manifest, in lr_multipliers order
	Params    int64             // values over all variables
	// Groups are the configured groups, ordered by their first variable
	// (groups that match nothing last). GroupOf[i] indexes Groups for
	// variable i, or is -1 for a variable in no group.
	Groups    []Group
	GroupOf   []int
	Unmatched []int // variables in no group (frozen in every stage)
	Stages    []Stage
	// Warnings concern the whole plan (unmatched variables, empty groups);
	// each Stage carries its own.
	Warnings []Warning
}

// Stage is one configured stage resolved to what train_step is fed.
type Stage struct {
	Index  int
	Name   string
	Layers []string // as configured
	// Epochs and Steps are the stage's configured length (Steps, when
	// positive, wins); the loop turns epochs into steps.
	Epochs int
	Steps  int64
	// LearningRate is the stage's base rate (after warm-up); StartLR is the
	// rate of its first step, from the same schedule the loop runs.
	LearningRate float64
	StartLR      float64
	WarmupSteps  int64
	TrainBN      bool
	// Multipliers holds one value per variable in manifest order; 0
	// freezes the variable. This is the lr_multipliers input, as fed.
	Multipliers []float32
	// LossWeights is the loss_weights input, in graphs.LossNames order.
	LossWeights [5]float32
	// Groups is parallel to Plan.Groups; Unmatched covers the variables in
	// no group.
	Groups             []GroupStage
	Unmatched          GroupStage
	TrainableVariables int
	TrainableParams    int64
	Warnings           []Warning
}

// GroupStage is what a stage does to one group.
type GroupStage struct {
	// Selected: the stage's layers select the group (or, for a matterport
	// regex, some of its variables).
	Selected bool
	// Multiplier is the group's LR multiplier in this stage: the
	// configured value (1 when not listed) when selected, else 0.
	Multiplier float64
	// Variables and Params count what trains (multiplier > 0).
	Variables int
	Params    int64
	// LR and StartLR are the effective rates of the group's trained
	// variables: base and first-step rate times Multiplier; 0 when frozen.
	LR, StartLR float64
}

// Trains reports whether any of the group's variables train.
func (g GroupStage) Trains() bool { return g.Variables > 0 }

// Stage returns the stage with the given name.
func (p *Plan) Stage(name string) (*Stage, bool) {
	for i := range p.Stages {
		if p.Stages[i].Name == name {
			return &p.Stages[i], true
		}
	}
	return nil, false
}

// GroupNames returns the group names in Plan.Groups order.
func (p *Plan) GroupNames() []string {
	out := make([]string, len(p.Groups))
	for i, g := range p.Groups {
		out[i] = g.Name
	}
	return out
}

// GroupNorms aggregates per-variable L2 norms (var_grad_norms,
// var_update_norms; manifest order) into per-group L2 norms: out[g] =
// sqrt(sum of squares over the group's variables). Variables in no group
// are left out. out must have len(p.Groups) elements.
func (p *Plan) GroupNorms(varNorms []float32, out []float64) error {
	if len(varNorms) != len(p.GroupOf) {
		return fmt.Errorf("group norms: %d values for %d variables", len(varNorms), len(p.GroupOf))
	}
	if len(out) != len(p.Groups) {
		return fmt.Errorf("group norms: room for %d groups, want %d", len(out), len(p.Groups))
	}
	clear(out)
	for i, g := range p.GroupOf {
		if g >= 0 {
			x := float64(varNorms[i])
			out[g] += x * x
		}
	}
	for g := range out {
		out[g] = math.Sqrt(out[g])
	}
	return nil
}

// Build resolves every stage of cfg against the manifest. Configuration
// problems (unknown groups or losses, overlapping groups, unmatched
// variables under train.unmatched_variables: error, a stage that trains
// nothing) are returned joined; softer findings are Warnings.
func Build(cfg *config.Config, m *graphs.VariablesManifest) (*Plan, error) {
	if cfg == nil || m == nil {
		return nil, errors.New("stage plan: nil config or manifest")
	}
	if err := ValidateManifest(m); err != nil {
		return nil, fmt.Errorf("variables manifest: %w", err)
	}
	groups, groupOf, err := assignGroups(cfg.Groups, m.Variables)
	if err != nil {
		return nil, err
	}
	p := &Plan{Model: m.Model, Variables: m.Variables, Groups: groups, GroupOf: groupOf}
	params := make([]int64, len(m.Variables))
	for i, v := range m.Variables {
		params[i], _ = elements(v.Shape)
		p.Params += params[i]
		if groupOf[i] < 0 {
			p.Unmatched = append(p.Unmatched, i)
		}
	}

	var errs []error
	if len(p.Unmatched) > 0 {
		paths := p.paths(p.Unmatched)
		switch cfg.Train.UnmatchedVariables {
		case UnmatchedFreeze:
			p.Warnings = append(p.Warnings, Warning{
				Kind: WarnUnmatched, Variables: paths,
				Message: fmt.Sprintf("%d variable(s) are in no group and stay frozen in every stage (%s)", len(paths), examples(paths)),
			})
		case UnmatchedError, "":
			errs = append(errs, fmt.Errorf("%d variable(s) are in no group (%s): add a group matching them, or set train.unmatched_variables: freeze",
				len(paths), examples(paths)))
		default:
			errs = append(errs, fmt.Errorf("train.unmatched_variables: %q, want %s or %s", cfg.Train.UnmatchedVariables, UnmatchedError, UnmatchedFreeze))
		}
	}
	for _, g := range groups {
		if len(g.Variables) == 0 {
			p.Warnings = append(p.Warnings, Warning{
				Kind: WarnEmptyGroup, Group: g.Name,
				Message: fmt.Sprintf("group %s (%s) matches no variable", g.Name, g.Regex),
			})
		}
	}

	if len(cfg.Stages) == 0 {
		errs = append(errs, errors.New("stages: no stages; add at least one with layers and epochs or steps"))
	}
	b := builder{cfg: cfg, plan: p, params: params, groupIndex: map[string]int{}}
	for gi, g := range groups {
		b.groupIndex[g.Name] = gi
	}
	for i := range cfg.Stages {
		st, err := b.stage(i)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p.Stages = append(p.Stages, st)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for i := 1; i < len(p.Stages); i++ {
		prev, cur := &p.Stages[i-1], &p.Stages[i]
		if sameTrainable(prev.Multipliers, cur.Multipliers) {
			cur.Warnings = append(cur.Warnings, Warning{
				Kind: WarnSameAsPrevious, Stage: cur.Name,
				Message: fmt.Sprintf("stage %s trains the same %d variables as stage %s", cur.Name, cur.TrainableVariables, prev.Name),
			})
		}
	}
	return p, nil
}

func (p *Plan) paths(idx []int) []string {
	out := make([]string, len(idx))
	for k, i := range idx {
		out[k] = p.Variables[i].Path
	}
	return out
}

func sameTrainable(a, b []float32) bool {
	for i := range a {
		if (a[i] > 0) != (b[i] > 0) {
			return false
		}
	}
	return true
}

type builder struct {
	cfg        *config.Config
	plan       *Plan
	params     []int64
	groupIndex map[string]int
}

// stage resolves cfg.Stages[i].
func (b *builder) stage(i int) (Stage, error) {
	sc := b.cfg.Stages[i]
	p := b.plan
	key := fmt.Sprintf("stages.%d", i)
	label := key
	if sc.Name != "" {
		label = fmt.Sprintf("%s (%s)", key, sc.Name)
	}
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(label+": "+format, args...))
	}

	selected := make([]bool, len(p.Variables))
	if len(sc.Layers) == 0 {
		fail("layers is empty: give a preset (%s), matterport:PRESET or group names", strings.Join(config.PresetNames(), ", "))
	}
	for _, l := range sc.Layers {
		if err := b.selectLayers(l, selected); err != nil {
			fail("layers: %v", err)
		}
	}

	mult := make([]float64, len(p.Groups))
	for gi := range mult {
		mult[gi] = 1
	}
	for _, g := range slices.Sorted(maps.Keys(sc.LRMultipliers)) {
		v := sc.LRMultipliers[g]
		gi, ok := b.groupIndex[g]
		if !ok {
			fail("lr_multipliers.%s: no such group (groups: %s)", g, strings.Join(p.GroupNames(), ", "))
			continue
		}
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			fail("lr_multipliers.%s: %v, want a finite value >= 0", g, v)
			continue
		}
		mult[gi] = v
	}

	st := Stage{
		Index: i, Name: sc.Name, Layers: slices.Clone(sc.Layers), Epochs: sc.Epochs, Steps: sc.Steps,
		LearningRate: sc.LearningRate, WarmupSteps: sc.WarmupSteps, TrainBN: sc.TrainBN,
		Multipliers: make([]float32, len(p.Variables)),
		Groups:      make([]GroupStage, len(p.Groups)),
	}
	for k := range st.LossWeights {
		st.LossWeights[k] = 1
	}
	for _, name := range slices.Sorted(maps.Keys(sc.LossWeights)) {
		v := sc.LossWeights[name]
		k := slices.Index(graphs.LossNames[:], name)
		switch {
		case k < 0:
			fail("loss_weights.%s: unknown loss (losses: %s)", name, strings.Join(graphs.LossNames[:], ", "))
		case v < 0 || math.IsNaN(v) || math.IsInf(v, 0):
			fail("loss_weights.%s: %v, want a finite value >= 0", name, v)
		default:
			st.LossWeights[k] = float32(v)
		}
	}

	sched := schedule.Schedule{
		Kind: sc.LRSchedule, Base: sc.LearningRate, Warmup: sc.WarmupSteps,
		DecaySteps: sc.LRDecaySteps, DecayFactor: sc.LRDecayFactor,
	}
	if err := sched.Validate(); err != nil {
		fail("%v", err)
	}
	if len(errs) > 0 {
		return Stage{}, errors.Join(errs...)
	}
	// The first step's rate does not depend on the stage length.
	st.StartLR = sched.LR(0)

	var notTrainable, bnLike []string
	for v, gi := range p.GroupOf {
		if !selected[v] {
			continue
		}
		vr := p.Variables[v]
		if gi < 0 {
			continue // unmatched: frozen (Build already reported it)
		}
		st.Groups[gi].Selected = true
		if !vr.Trainable {
			if !vr.BatchNorm {
				notTrainable = append(notTrainable, vr.Path)
			}
			continue
		}
		if vr.BatchNorm && !sc.TrainBN {
			continue
		}
		m := mult[gi]
		if m == 0 {
			continue
		}
		st.Multipliers[v] = float32(m)
		gs := &st.Groups[gi]
		gs.Variables++
		gs.Params += b.params[v]
		st.TrainableVariables++
		st.TrainableParams += b.params[v]
		if !sc.TrainBN && looksLikeBatchNorm(vr.Path) {
			bnLike = append(bnLike, vr.Path)
		}
	}
	for gi := range st.Groups {
		gs := &st.Groups[gi]
		if gs.Selected {
			gs.Multiplier = mult[gi]
		}
		if gs.Trains() {
			gs.LR = sc.LearningRate * gs.Multiplier
			gs.StartLR = st.StartLR * gs.Multiplier
		}
	}
	for _, v := range p.Unmatched {
		if selected[v] {
			st.Unmatched.Selected = true
		}
	}

	if st.TrainableVariables == 0 {
		return Stage{}, fmt.Errorf("%s: the stage trains no variable (layers %s select nothing trainable with a multiplier > 0)", label, strings.Join(sc.Layers, ", "))
	}
	warn := func(w Warning) {
		w.Stage = sc.Name
		st.Warnings = append(st.Warnings, w)
	}
	if len(bnLike) > 0 {
		warn(Warning{Kind: WarnBatchNormTrains, Variables: bnLike,
			Message: fmt.Sprintf("%d variable(s) look like BatchNorm parameters but the manifest does not flag them batch_norm; they train although train_bn is false (%s)", len(bnLike), examples(bnLike))})
	}
	if len(notTrainable) > 0 {
		warn(Warning{Kind: WarnNotTrainable, Variables: notTrainable,
			Message: fmt.Sprintf("%d selected variable(s) are marked non-trainable by the model and stay frozen (%s); re-export with them trainable to train them", len(notTrainable), examples(notTrainable))})
	}
	for _, g := range slices.Sorted(maps.Keys(sc.LRMultipliers)) {
		gi := b.groupIndex[g]
		if !st.Groups[gi].Trains() && sc.LRMultipliers[g] > 0 {
			warn(Warning{Kind: WarnUnusedMultiplier, Group: g,
				Message: fmt.Sprintf("lr_multipliers.%s is set but group %s does not train in this stage", g, g)})
		}
	}
	return st, nil
}

// selectLayers marks the variables one layers item selects: a preset, a
// matterport:PRESET regex, or a group name.
func (b *builder) selectLayers(item string, selected []bool) error {
	p := b.plan
	if name, ok := strings.CutPrefix(item, MatterportPrefix); ok {
		re, ok := matterportRegex(name)
		if !ok {
			return fmt.Errorf("%q: no matterport preset %q (presets: %s)", item, name, strings.Join(config.PresetNames(), ", "))
		}
		for v, vr := range p.Variables {
			if re.MatchString(layerName(vr)) {
				selected[v] = true
			}
		}
		return nil
	}
	names := []string{item}
	if gs, ok := config.PresetGroups(item, b.cfg.Groups); ok {
		names = gs
	}
	for _, g := range names {
		gi, ok := b.groupIndex[g]
		if !ok {
			if g == item {
				return fmt.Errorf("%q is neither a preset (%s, or matterport:PRESET) nor a group (%s)", item, strings.Join(config.PresetNames(), ", "), strings.Join(p.GroupNames(), ", "))
			}
			return fmt.Errorf("preset %q trains group %q, which is not defined; define groups.%s or list the groups to train", item, g, g)
		}
		for _, v := range p.Groups[gi].Variables {
			selected[v] = true
		}
	}
	return nil
}

// looksLikeBatchNorm reports whether a path names a Keras BatchNorm weight.
func looksLikeBatchNorm(p string) bool {
	base, _, _ := strings.Cut(path.Base(p), ":")
	switch base {
	case "gamma", "beta", "moving_mean", "moving_variance":
		return true
	}
	return false
}
