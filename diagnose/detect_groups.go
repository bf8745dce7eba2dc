package diagnose

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/graftrain/graftrain/config"
	"github.com/graftrain/graftrain/train/metrics"
)

// detectNonFinite reports steps whose loss was NaN or Inf, per stage.
func detectNonFinite(r *Run, th Thresholds) []Finding {
	var out []Finding
	for _, s := range r.Stages() {
		var bad []int64
		run, longest := 0, 0
		for i := range s.Train {
			if s.Train[i].NonFinite || !finite(s.Train[i].TotalLoss) {
				bad = append(bad, s.Train[i].Step)
				run++
				longest = max(longest, run)
			} else {
				run = 0
			}
		}
		if len(bad) == 0 {
			continue
		}
		sev := Warning
		if longest > 1 || frac(len(bad), len(s.Train)) > 0.05 {
			sev = Error
		}
		lr := r.stageLR(&s)
		f := Finding{
			ID: IDNonFiniteLosses, Severity: sev, Confidence: 1, Stage: s.Index, StageName: s.Name,
			Title:     fmt.Sprintf("%d steps with a NaN or Inf loss in stage %s", len(bad), s.Name),
			FirstStep: bad[0], LastStep: bad[len(bad)-1],
			Evidence: []string{
				fmt.Sprintf("non-finite steps: %s", stepList(bad)),
				fmt.Sprintf("longest run of consecutive non-finite steps: %d", longest),
			},
			Numbers:     map[string]float64{"count": float64(len(bad)), "longest_run": float64(longest)},
			Explanation: "A loss became NaN or Inf: the step was discarded and the model restored to the last checkpoint. Almost always the learning rate is too high for the stage (often right after unfreezing layers), clipping is off, or a few images have degenerate boxes.",
			Plots:       []string{"losses"},
		}
		if lr > 0 {
			f.Fix = append(f.Fix, Override{stageKey(s.Index, "learning_rate"), num(roundSig(lr / 10))})
		}
		if r.Config != nil && r.Config.Optimizer.ClipNorm == 0 {
			f.Fix = append(f.Fix, Override{"optimizer.clip_norm", "5"})
		}
		out = append(out, f)
	}
	return out
}

func stepList(s []int64) string {
	var b strings.Builder
	for i, v := range s {
		if i == 8 {
			fmt.Fprintf(&b, " … (%d more)", len(s)-8)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.FormatInt(v, 10))
	}
	return b.String()
}

// detectFrozenMoved reports groups that changed with multiplier 0, from
// the rows' update norms and from consecutive checkpoints.
func detectFrozenMoved(r *Run, th Thresholds) []Finding {
	var out []Finding
	for _, s := range r.Stages() {
		for _, g := range GroupNames(s.Train) {
			var moved []int64
			var maxU float64
			for i := range s.Train {
				row := &s.Train[i]
				m, ok := row.GroupLRMult[g]
				if ok && m == 0 && row.GroupUpdateNorms[g] > 0 {
					moved = append(moved, row.Step)
					maxU = max(maxU, row.GroupUpdateNorms[g])
				}
			}
			if len(moved) == 0 {
				continue
			}
			out = append(out, Finding{
				ID: IDFrozenGroupMoved, Severity: Critical, Confidence: 1, Stage: s.Index, StageName: s.Name, Subject: g,
				Title:     fmt.Sprintf("group %s changed while frozen (multiplier 0) in stage %s", g, s.Name),
				FirstStep: moved[0], LastStep: moved[len(moved)-1],
				Evidence: []string{
					fmt.Sprintf("update norm > 0 with lr multiplier 0 at %d steps: %s", len(moved), stepList(moved)),
					fmt.Sprintf("largest update norm %s", num(maxU)),
				},
				Numbers:     map[string]float64{"steps": float64(len(moved)), "max_update_norm": maxU},
				Explanation: "A multiplier of 0 must leave a variable untouched (no gradient step, no momentum, no weight decay). This group moved anyway: the model's train_step does not honour lr_multipliers (an exporter or contract bug), so the freeze you configured is not happening. No config change fixes it; re-export the model and check it with `graftrain checkpoints diff`.",
				Plots:       []string{"update_ratios"},
			})
		}
	}
	// Checkpoints: variables of groups frozen over a whole interval that
	// changed between its two checkpoints.
	if r.Config == nil {
		return out
	}
	res := map[string]*regexp.Regexp{}
	for g, expr := range r.Config.Groups {
		if re, err := regexp.Compile(expr); err == nil {
			res[g] = re
		}
	}
	for _, d := range r.CheckpointDiffs {
		frozen := map[string]bool{}
		first := true
		for i := range r.Train {
			row := &r.Train[i]
			if row.Step <= d.From || row.Step > d.To {
				continue
			}
			for g := range res {
				m, ok := row.GroupLRMult[g]
				if first {
					frozen[g] = ok && m == 0
				} else if !ok || m != 0 {
					frozen[g] = false
				}
			}
			first = false
		}
		if first {
			continue
		}
		for _, g := range sortedKeys(frozen) {
			if !frozen[g] {
				continue
			}
			var changed []string
			for _, v := range d.Vars {
				if v.Change == "changed" && res[g].MatchString(v.Key) && !isSlot(v.Key) {
					changed = append(changed, fmt.Sprintf("%s (relative change %s)", v.Key, num(v.Relative)))
				}
			}
			if len(changed) == 0 {
				continue
			}
			si, name := stageAt(r, d.To)
			out = append(out, Finding{
				ID: IDFrozenGroupMoved, Severity: Critical, Confidence: 1, Stage: si, StageName: name, Subject: g,
				Title:     fmt.Sprintf("checkpoints show group %s changed between steps %d and %d while frozen", g, d.From, d.To),
				FirstStep: d.From, LastStep: d.To,
				Evidence:    append([]string{fmt.Sprintf("%d variables changed in checkpoints ckpt-%d → ckpt-%d:", len(changed), d.From, d.To)}, limit(changed, 5)...),
				Explanation: "Every step between these checkpoints fed this group a multiplier of 0, yet its variables differ bit for bit: the model changes frozen variables (a train_step that ignores lr_multipliers, or BatchNorm statistics updating in training mode). Re-export the model and verify with `graftrain checkpoints diff`.",
				Plots:       []string{"update_ratios"},
			})
		}
	}
	return out
}

func isSlot(k string) bool {
	return strings.Contains(k, "/momentum") || strings.Contains(k, "OPTIMIZER_SLOT") || strings.Contains(k, "global_step") ||
		strings.Contains(k, "moving_mean") || strings.Contains(k, "moving_variance")
}

func limit(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(s[:n:n], fmt.Sprintf("… and %d more", len(s)-n))
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func stageAt(r *Run, step int64) (int, string) {
	for i := range r.Train {
		if r.Train[i].Step >= step {
			return r.Train[i].StageIndex, r.Train[i].Stage
		}
	}
	if n := len(r.Train); n > 0 {
		return r.Train[n-1].StageIndex, r.Train[n-1].Stage
	}
	return -1, ""
}

// detectGroupNotTraining reports groups that should train but do not: a
// head left out of a stage that trains the others, a listed group with
// multiplier 0, a group the model does not update.
func detectGroupNotTraining(r *Run, th Thresholds) []Finding {
	var out []Finding
	for _, s := range r.Stages() {
		if len(s.Train) < th.MinPoints/3 {
			continue
		}
		lo, hi := steps(s.Train)
		sc := r.stageConfig(s.Index)
		var layers []string
		if sc != nil {
			layers = config.ExpandLayers(sc.Layers, r.Config.Groups)
		}
		trained := trainedGroups(s.Train)
		for _, g := range GroupNames(s.Train) {
			var multPos, zeroUpd, multZero int
			var gradSum float64
			for i := range s.Train {
				row := &s.Train[i]
				m := row.GroupLRMult[g]
				if m > 0 && row.LR > 0 {
					multPos++
					if row.GroupUpdateNorms[g] == 0 && row.GroupGradNorms[g] > 0 {
						zeroUpd++
					}
				} else if m == 0 {
					multZero++
				}
				gradSum += row.GroupGradNorms[g]
			}
			n := len(s.Train)
			f := Finding{
				ID: IDGroupNotTraining, Stage: s.Index, StageName: s.Name, Subject: g, FirstStep: lo, LastStep: hi,
				Plots: []string{"update_ratios", "losses"},
			}
			switch {
			case frac(multPos, n) > 0.9 && frac(zeroUpd, multPos) > 0.9:
				f.Severity, f.Confidence = Error, frac(zeroUpd, multPos)
				f.Title = fmt.Sprintf("group %s gets a multiplier but no updates in stage %s", g, s.Name)
				f.Evidence = []string{fmt.Sprintf("%d of %d steps with multiplier > 0 and a non-zero gradient applied a zero update", zeroUpd, multPos)}
				f.Explanation = "The loop feeds this group a positive LR multiplier and the model reports a gradient, but the update it applies is zero: the model's train_step does not apply lr_multipliers to these variables (or their Keras layer is not trainable in the export). Check the variables manifest's trainable flags and re-export."
				out = append(out, f)
			case multZero == n && slices.Contains(layers, g) && sc != nil && hasZero(sc.LRMultipliers, g):
				f.Severity, f.Confidence = Error, 1
				f.Title = fmt.Sprintf("group %s is listed in stage %s's layers but its multiplier is 0", g, s.Name)
				f.Evidence = []string{fmt.Sprintf("stages.%d.lr_multipliers.%s = 0 while stages.%d.layers trains it; update norm 0 at all %d steps", s.Index, g, s.Index, n)}
				f.Explanation = "A multiplier of 0 freezes a group even when the stage's layers name it. This is usually a leftover from an earlier experiment; the group does not learn."
				f.Fix = []Override{{stageKey(s.Index, "lr_multipliers."+g), "1"}}
				out = append(out, f)
			case multZero == n && headLosses[g] != nil && len(trained) > 0 && gradSum > 0 && trainsHeads(trained):
				// A head frozen in a stage that trains other heads: heads
				// start untrained, so one left out keeps its random weights
				// while its loss asks for change (its gradient is as large as
				// the trained heads').
				mine := median(values(s.Train, func(r *metrics.Row) float64 { return r.GroupGradNorms[g] }))
				var others []float64
				for _, h := range trained {
					if headLosses[h] != nil {
						others = append(others, median(values(s.Train, func(r *metrics.Row) float64 { return r.GroupGradNorms[h] })))
					}
				}
				ref := median(others)
				if !(mine > 0.1*ref) {
					continue
				}
				own := lossDrop(s.Train, headLosses[g])
				var drops []float64
				for _, h := range trained {
					if ls := headLosses[h]; ls != nil {
						drops = append(drops, lossDrop(s.Train, ls))
					}
				}
				rest := median(drops)
				f.Severity, f.Confidence = Error, math.Min(1, 0.7+0.3*math.Min(1, mine/ref))
				f.Title = fmt.Sprintf("head %s is frozen in stage %s, which trains the other heads", g, s.Name)
				f.Evidence = []string{
					fmt.Sprintf("multiplier of %s is 0 at all %d steps: it is not in the stage's layers (trained: %s)", g, n, strings.Join(trained, ", ")),
					fmt.Sprintf("its median gradient norm %s against %s for the trained heads: its loss pulls on it, but it cannot move", num(mine), num(ref)),
					fmt.Sprintf("%s %s over the stage (only through shared layers); the trained heads' losses %s", strings.Join(headLosses[g], "+"), fell(own), fell(rest)),
				}
				f.Numbers = map[string]float64{"grad_norm": mine, "trained_heads_grad_norm": ref, "own_drop": own, "others_drop": rest}
				f.Explanation = "A fine-tuned Mask R-CNN's heads start from random weights (or another dataset's classes), so every head has to train in the heads stage. This one is missing from the stage's layers: its loss falls only as far as the shared layers can push it, and the next stage starts from an untrained head. Add it to the stage's layers."
				nl := append(slices.Clone(trained), g)
				if len(layers) > 0 {
					nl = append(slices.Clone(sc.Layers), g)
				}
				f.Fix = []Override{{stageKey(s.Index, "layers"), "[" + strings.Join(nl, ", ") + "]"}}
				out = append(out, f)
			}
		}
	}
	return out
}

// trainsHeads says whether a stage trains at least one head group.
func trainsHeads(trained []string) bool {
	for _, g := range trained {
		if headLosses[g] != nil {
			return true
		}
	}
	return false
}

func hasZero(m map[string]float64, g string) bool {
	v, ok := m[g]
	return ok && v == 0
}

// detectGradientRatios reports training groups whose update-to-weight
// ratio is far below (vanishing) or above (exploding) the healthy band,
// and a global gradient norm that keeps growing.
func detectGradientRatios(r *Run, th Thresholds) []Finding {
	var out []Finding
	for _, s := range r.Stages() {
		if len(s.Train) < th.MinPoints/3 {
			continue
		}
		late := s.Train[len(s.Train)/2:]
		lo, hi := steps(late)
		lr := r.stageLR(&s)
		var exploding []string
		var worst float64
		var vanishing []Finding
		var vanishRatios []float64
		trained := trainedGroups(s.Train)
		for _, g := range trained {
			ratios := values(late, func(row *metrics.Row) float64 {
				w := row.GroupWeightNorms[g]
				if w <= 0 || row.GroupLRMult[g] <= 0 || row.LR <= 0 {
					return math.NaN()
				}
				return row.GroupUpdateNorms[g] / w
			})
			if len(ratios) < 5 {
				continue
			}
			med := median(ratios)
			mult := median(values(late, func(row *metrics.Row) float64 { return row.GroupLRMult[g] }))
			switch {
			case med > 0 && med < th.RatioLow && !lossesDone(r, s.Train, g):
				f := Finding{
					ID: IDVanishingGradients, Severity: Warning, Confidence: math.Min(1, math.Log10(th.RatioLow/med)/2+0.5),
					Stage: s.Index, StageName: s.Name, Subject: g, FirstStep: lo, LastStep: hi,
					Title:       fmt.Sprintf("group %s barely moves in stage %s (update/weight %s per step)", g, s.Name, num(med)),
					Evidence:    []string{fmt.Sprintf("median update-norm/weight-norm ratio %s over steps %d–%d (healthy: about 1e-4 to 1e-2)", num(med), lo, hi), fmt.Sprintf("lr multiplier %s", num(mult))},
					Numbers:     map[string]float64{"ratio": med, "multiplier": mult},
					Explanation: "The group trains in name only: its weights change by less than a millionth of their size per step, so it would take millions of steps to adapt. Its multiplier (or the stage LR) is far too small, or its gradients vanish.",
					Plots:       []string{"update_ratios", "grad_norms"},
				}
				if mult > 0 && mult < 1 {
					f.Fix = []Override{{stageKey(s.Index, "lr_multipliers."+g), num(math.Min(1, roundSig(mult*1e-3/med)))}}
				} else {
					f.Explanation += " Its multiplier is already 1, so its gradients vanish: look for a frozen or saturated layer between it and the losses."
				}
				vanishing = append(vanishing, f)
				vanishRatios = append(vanishRatios, med)
			case med > th.RatioHigh:
				exploding = append(exploding, fmt.Sprintf("%s: update/weight %s", g, num(med)))
				worst = max(worst, med)
			}
		}
		// Most groups barely moving is the stage's learning rate, not the
		// groups: one finding with the rate.
		if len(vanishing) > 0 && 2*len(vanishing) >= len(trained) && lr > 0 {
			med := median(vanishRatios)
			var names []string
			for _, f := range vanishing {
				names = append(names, f.Subject)
			}
			out = append(out, Finding{
				ID: IDVanishingGradients, Severity: Warning, Confidence: math.Min(1, math.Log10(th.RatioLow/med)/2+0.5),
				Stage: s.Index, StageName: s.Name, FirstStep: lo, LastStep: hi,
				Title:       fmt.Sprintf("stage %s barely changes the weights (median update/weight %s per step)", s.Name, num(med)),
				Evidence:    []string{fmt.Sprintf("%d of %d training groups under %s per step over steps %d–%d: %s", len(vanishing), len(trained), num(th.RatioLow), lo, hi, strings.Join(names, ", ")), fmt.Sprintf("stage learning rate %s", num(lr))},
				Numbers:     map[string]float64{"ratio": med, "groups": float64(len(vanishing))},
				Explanation: "Nearly every group trains in name only: the stage's learning rate is orders of magnitude too small for this model.",
				Fix:         []Override{{stageKey(s.Index, "learning_rate"), num(roundSig(lr * 1e-3 / med))}},
				Plots:       []string{"update_ratios", "lr"},
			})
		} else {
			out = append(out, vanishing...)
		}
		// The global gradient norm growing by an order of magnitude.
		x, y := series(s.Train, func(row *metrics.Row) float64 { return row.GradNorm })
		growth := math.NaN()
		if q := len(y) / 4; q >= 5 {
			growth = median(y[len(y)-q:]) / median(y[:q])
		}
		if len(exploding) == 0 && !(growth > 10) {
			continue
		}
		ev := slices.Clone(exploding)
		if growth > 10 {
			ev = append(ev, fmt.Sprintf("gradient norm grew %.0f× from the first to the last quarter of the stage (steps %d–%d)", growth, int64(x[0]), int64(x[len(x)-1])))
		}
		sev := Warning
		if worst > 10*th.RatioHigh || growth > 100 {
			sev = Error
		}
		f := Finding{
			ID: IDExplodingGradients, Severity: sev, Confidence: math.Min(1, 0.6+0.1*float64(len(exploding))),
			Stage: s.Index, StageName: s.Name, FirstStep: lo, LastStep: hi,
			Title:       fmt.Sprintf("updates too large in stage %s", s.Name),
			Evidence:    ev,
			Numbers:     map[string]float64{"max_ratio": worst, "grad_growth": growth},
			Explanation: "Each step changes the weights by several percent of their size (healthy training changes them by about 0.1%), or the gradient keeps growing: the optimiser overshoots and the loss bounces instead of falling. The learning rate is too high for this stage.",
			Plots:       []string{"update_ratios", "grad_norms"},
		}
		if lr > 0 {
			factor := 0.1
			if worst > 0 {
				factor = math.Min(0.1, 1e-2/worst)
			}
			f.Fix = []Override{{stageKey(s.Index, "learning_rate"), num(roundSig(lr * factor))}}
		}
		out = append(out, f)
	}
	return out
}

// lossesDone says whether the losses a group feeds (a head's own, else
// the total) are already below a tenth of where the run started: its
// gradients are small because there is little left to learn.
func lossesDone(r *Run, rows []metrics.Row, g string) bool {
	f := func(row *metrics.Row) float64 { return row.TotalLoss }
	if ls := headLosses[g]; ls != nil {
		f = func(row *metrics.Row) float64 {
			var v float64
			for _, l := range ls {
				v += row.Losses[l]
			}
			return v
		}
	}
	start := values(r.startRows(), f)
	now := values(rows[len(rows)/2:], f)
	return len(start) > 0 && len(now) > 0 && median(now) < 0.1*median(start)
}

// detectClipping reports stages where clipping by global norm acts on
// nearly every step.
func detectClipping(r *Run, th Thresholds) []Finding {
	var out []Finding
	for _, s := range r.Stages() {
		var n, clipped int
		var ratios []float64
		for i := range s.Train {
			row := &s.Train[i]
			if row.ClipNorm <= 0 || !usable(row) || !finite(row.GradNorm) {
				continue
			}
			n++
			ratios = append(ratios, row.GradNorm/row.ClipNorm)
			if row.GradNorm > row.ClipNorm {
				clipped++
			}
		}
		if n < th.MinPoints/3 {
			continue
		}
		fr, med := frac(clipped, n), median(ratios)
		if fr < th.ClipFraction || med < th.ClipRatio {
			continue
		}
		lo, hi := steps(s.Train)
		sev := Warning
		if med >= 10 {
			sev = Error
		}
		f := Finding{
			ID: IDClippingSaturated, Severity: sev, Confidence: fr, Stage: s.Index, StageName: s.Name,
			Title:     fmt.Sprintf("gradient clipping is active on %.0f%% of the steps of stage %s", 100*fr, s.Name),
			FirstStep: lo, LastStep: hi,
			Evidence: []string{
				fmt.Sprintf("grad_norm > clip_norm at %d of %d steps", clipped, n),
				fmt.Sprintf("median grad_norm/clip_norm %s", num(med)),
			},
			Numbers:     map[string]float64{"fraction": fr, "median_ratio": med},
			Explanation: "Clipping by global norm is meant for the occasional bad batch. When nearly every step clips, the step size is set by clip_norm rather than by the learning rate: the run is taking the largest steps it is allowed, the sign of a learning rate far too high (or a loss weight that inflates the gradient).",
			Plots:       []string{"grad_norms"},
		}
		if lr := r.stageLR(&s); lr > 0 {
			// Scale the rate so the steps fall inside the clip norm and the
			// updates back to about 1% of the weights per step.
			factor := 1 / math.Max(10, med)
			if ur := medianUpdateRatio(s.Train); finite(ur) && ur > th.RatioHigh {
				if ur > 10*th.RatioHigh {
					f.Severity = Error
				}
				factor = math.Min(factor, 1e-2/ur)
				f.Evidence = append(f.Evidence, fmt.Sprintf("median update/weight ratio of the training groups %s per step", num(ur)))
			}
			f.Fix = []Override{{stageKey(s.Index, "learning_rate"), num(roundSig(lr * factor))}}
		}
		out = append(out, f)
	}
	return out
}

// medianUpdateRatio is the median over steps of the median over training
// groups of update norm / weight norm.
func medianUpdateRatio(rows []metrics.Row) float64 {
	return median(values(rows, func(row *metrics.Row) float64 {
		var rs []float64
		for g, m := range row.GroupLRMult {
			if wn := row.GroupWeightNorms[g]; m > 0 && wn > 0 {
				rs = append(rs, row.GroupUpdateNorms[g]/wn)
			}
		}
		return median(rs)
	}))
}
