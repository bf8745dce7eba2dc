package diagnose

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/graftrain/graftrain/graphs"
	"github.com/graftrain/graftrain/train/metrics"
)

// detectStageSwitch reports a loss jump or NaN right after a stage starts.
func detectStageSwitch(r *Run, th Thresholds) []Finding {
	var out []Finding
	st := r.Stages()
	for k := 1; k < len(st); k++ {
		prev, next := st[k-1], st[k]
		before := values(prev.Train[max(0, len(prev.Train)-50):], lossSum)
		if len(before) < 3 || len(next.Train) < 3 {
			continue
		}
		head := next.Train[:min(20, len(next.Train))]
		var nan []int64
		for i := range head {
			if !usable(&head[i]) || !finite(lossSum(&head[i])) {
				nan = append(nan, head[i].Step)
			}
		}
		after := values(head, lossSum)
		base := median(before)
		spread := mad(before)
		peak := math.Inf(-1)
		var peakStep int64
		for i := range head {
			if v := lossSum(&head[i]); usable(&head[i]) && v > peak {
				peak, peakStep = v, head[i].Step
			}
		}
		jump := median(after) / base
		spike := len(after) > 0 && base > 0 && (jump > th.SpikeFactor || (peak > th.SpikeFactor*base && peak > base+5*spread && jump > 1.1))
		if !spike && len(nan) == 0 {
			continue
		}
		lo, hi := steps(head)
		ev := []string{fmt.Sprintf("summed losses: median %s over the last %d steps of %s, then median %s (×%.2f) and peak %s at step %d in the first %d steps of %s",
			num(base), len(before), prev.Name, num(median(after)), jump, num(peak), peakStep, len(head), next.Name)}
		if len(nan) > 0 {
			ev = append(ev, fmt.Sprintf("non-finite losses right after the switch at steps %s", stepList(nan)))
		}
		var unfrozen []string
		prevTrained, nextTrained := trainedGroups(prev.Train), trainedGroups(next.Train)
		for _, g := range nextTrained {
			if !slices.Contains(prevTrained, g) {
				unfrozen = append(unfrozen, g)
			}
		}
		if len(unfrozen) > 0 {
			ev = append(ev, "groups unfrozen at the switch: "+strings.Join(unfrozen, ", "))
		}
		warm := int64(0)
		if sc := r.stageConfig(next.Index); sc != nil {
			warm = sc.WarmupSteps
		}
		ev = append(ev, fmt.Sprintf("warm-up steps in %s: %d", next.Name, warm))
		f := Finding{
			ID: IDStageSwitchSpike, Severity: Error, Confidence: math.Min(1, 0.5+0.25*jump), Stage: next.Index, StageName: next.Name,
			Title:     fmt.Sprintf("loss jumps when stage %s starts", next.Name),
			FirstStep: lo, LastStep: hi, Evidence: ev,
			Numbers:     map[string]float64{"before": base, "after": median(after), "jump": jump, "peak": peak, "non_finite": float64(len(nan))},
			Explanation: "Right after the switch the newly unfrozen layers (typically the pre-trained backbone when going from heads to all) receive the full learning rate with gradients shaped by still-untrained heads: the pre-trained features are damaged and the loss jumps or turns NaN. Give the backbone and RPN a fraction of the stage rate and ramp the rate up.",
			Plots:       []string{"losses", "lr"},
		}
		if len(nan) > 0 {
			f.Severity, f.Confidence = Critical, 1
		}
		stageSteps := int64(len(next.Train))
		if sc := r.stageConfig(next.Index); sc != nil && sc.Steps > 0 {
			stageSteps = sc.Steps
		}
		if want := min(max(stageSteps/5, 5), 1000); warm < want {
			f.Fix = append(f.Fix, Override{stageKey(next.Index, "warmup_steps"), strconv.FormatInt(want, 10)})
		}
		mults := map[string]float64{}
		for i := range next.Train[:1] {
			mults = next.Train[i].GroupLRMult
		}
		for _, g := range unfrozen {
			if m, ok := backboneGroups[g]; ok && mults[g] > m {
				f.Fix = append(f.Fix, Override{stageKey(next.Index, "lr_multipliers."+g), num(m)})
			}
		}
		out = append(out, f)
	}
	return out
}

// detectBranchDominates reports a loss branch that makes up most of the
// weighted total on a good part of a stage.
func detectBranchDominates(r *Run, th Thresholds) []Finding {
	var out []Finding
	for _, s := range r.Stages() {
		if len(s.Train) < th.MinPoints/3 {
			continue
		}
		// The branch over DominantShare of the weighted total at the most
		// steps; it dominates when it does so at a quarter of the stage.
		best, bestFrac, bestShare := "", 0.0, 0.0
		var domSteps []int64
		for _, n := range graphs.LossNames {
			var k, tot int
			var st []int64
			for i := range s.Train {
				row := &s.Train[i]
				var t float64
				for _, v := range row.WeightedLosses {
					t += v
				}
				if !usable(row) || t <= 0 {
					continue
				}
				tot++
				if row.WeightedLosses[n]/t > th.DominantShare {
					k++
					st = append(st, row.Step)
				}
			}
			if fr := frac(k, tot); fr > bestFrac {
				best, bestFrac, domSteps = n, fr, st
				bestShare = median(values(s.Train, func(r *metrics.Row) float64 {
					var t float64
					for _, v := range r.WeightedLosses {
						t += v
					}
					if t <= 0 || !slices.Contains(st, r.Step) {
						return math.NaN()
					}
					return r.WeightedLosses[n] / t
				}))
			}
		}
		if bestFrac < 0.25 || len(domSteps) < 10 {
			continue
		}
		row := s.Train[len(s.Train)-1]
		w := row.LossWeights[best]
		var ow []float64
		for _, n := range graphs.LossNames {
			if n != best {
				ow = append(ow, row.LossWeights[n])
			}
		}
		wr := w / math.Max(median(ow), 1e-12)
		var stalled []string
		for _, n := range graphs.LossNames {
			if n == best {
				continue
			}
			if d := lossDrop(s.Train, []string{n}); finite(d) && d < 0.05 {
				stalled = append(stalled, fmt.Sprintf("%s (%s)", n, fell(d)))
			}
		}
		lo, hi := domSteps[0], domSteps[len(domSteps)-1]
		sev := Warning
		if wr >= 10 {
			sev = Error
		}
		ev := []string{fmt.Sprintf("%s is over %.0f%% of the weighted total at %d of %d steps (%.0f%%), steps %d–%d; median share there %.0f%%", best, 100*th.DominantShare, len(domSteps), len(s.Train), 100*bestFrac, lo, hi, 100*bestShare)}
		ev = append(ev, fmt.Sprintf("loss weight %s against %s for the others", num(w), num(median(ow))))
		if len(stalled) > 0 {
			ev = append(ev, "stalled meanwhile: "+strings.Join(stalled, ", "))
		}
		f := Finding{
			ID: IDBranchDominates, Severity: sev, Confidence: math.Min(1, 0.5*bestShare+0.5*bestFrac+0.1*float64(len(stalled))), Stage: s.Index, StageName: s.Name, Subject: best,
			Title:     fmt.Sprintf("%s dominates the total loss in stage %s", best, s.Name),
			FirstStep: lo, LastStep: hi, Evidence: ev,
			Numbers:     map[string]float64{"share": bestShare, "fraction": bestFrac, "weight": w, "weight_ratio": wr},
			Explanation: "One branch makes up most of the weighted total, so it gets most of the gradient (and of the clip-norm budget); the other branches learn slowly or not at all. Rebalance the loss weights so that no branch is more than about half of the total.",
			Plots:       []string{"losses"},
		}
		// The weight that brings the branch to the mean weighted level of
		// the others.
		var others []float64
		for _, n := range graphs.LossNames {
			if n != best {
				others = append(others, median(values(s.Train, func(r *metrics.Row) float64 { return r.WeightedLosses[n] })))
			}
		}
		mine := median(values(s.Train, func(r *metrics.Row) float64 { return r.WeightedLosses[best] }))
		if mine > 0 && w > 0 {
			nw := roundSig(w * mean(others) / mine)
			if wr >= 10 {
				nw = roundSig(median(ow)) // undo the outlier weight
			}
			f.Fix = []Override{{stageKey(s.Index, "loss_weights."+best), num(nw)}}
		}
		out = append(out, f)
	}
	return out
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// detectHeadsNoPositives reports head losses stuck at exactly 0.
func detectHeadsNoPositives(r *Run, th Thresholds) []Finding {
	var out []Finding
	for _, s := range r.Stages() {
		var zero, n int
		var zs []int64
		for i := range s.Train {
			row := &s.Train[i]
			if !usable(row) || row.Losses == nil {
				continue
			}
			n++
			if row.Losses["mrcnn_bbox_loss"] == 0 && row.Losses["mrcnn_mask_loss"] == 0 {
				zero++
				zs = append(zs, row.Step)
			}
		}
		if zero < th.ZeroHeadSteps || frac(zero, n) < th.ZeroHeadFraction {
			continue
		}
		f := Finding{
			ID: IDHeadsNoPositives, Severity: Critical, Confidence: frac(zero, n), Stage: s.Index, StageName: s.Name,
			Title:     fmt.Sprintf("mrcnn_bbox_loss and mrcnn_mask_loss are exactly 0 in stage %s: no positive ROI reaches the heads", s.Name),
			FirstStep: zs[0], LastStep: zs[len(zs)-1],
			Evidence:    []string{fmt.Sprintf("both head losses exactly 0 at %d of %d steps", zero, n)},
			Numbers:     map[string]float64{"fraction": frac(zero, n), "steps": float64(zero)},
			Explanation: "matterport computes the box and mask losses only over positive ROIs (IoU ≥ 0.5 with a ground-truth box). Exactly 0 means no ROI is positive: ground-truth class ids are all 0 (the dataset's classes don't match data.classes / model.num_classes), ground-truth boxes are empty or in the wrong coordinates, or proposals never overlap the objects (anchor scales far from the object sizes, or rpn_min_proposal_size dropping them). Run `graftrain data check` on the split.",
			Plots:       []string{"losses"},
		}
		if v := row0Extra(s.Train, "roi_positive_fraction"); finite(v) {
			f.Evidence = append(f.Evidence, fmt.Sprintf("median roi_positive_fraction %s", num(v)))
		}
		if sc := r.stageConfig(s.Index); sc != nil && sc.RPNMinProposalSize > 0 {
			f.Fix = append(f.Fix, Override{stageKey(s.Index, "rpn_min_proposal_size"), "0"})
			f.Evidence = append(f.Evidence, fmt.Sprintf("stages.%d.rpn_min_proposal_size is %s: proposals smaller are dropped", s.Index, num(sc.RPNMinProposalSize)))
		}
		if dc := r.DataCheck; dc != nil {
			if dc.Instances == 0 {
				f.Evidence = append(f.Evidence, "data check: the split has no usable (non-crowd) instances")
			} else if dc.BestIoUUnder[1] > 0.25 {
				f.Evidence = append(f.Evidence, fmt.Sprintf("data check: %.0f%% of objects have no anchor with IoU ≥ 0.5", 100*dc.BestIoUUnder[1]))
				if fx := anchorFix(r); fx != nil {
					f.Fix = append(f.Fix, *fx)
				}
			}
		}
		out = append(out, f)
	}
	return out
}

func row0Extra(rows []metrics.Row, k string) float64 {
	return median(values(rows, func(r *metrics.Row) float64 {
		v, ok := r.Extra[k]
		if !ok {
			return math.NaN()
		}
		return v
	}))
}

// anchorFix halves the anchor scales (objects smaller than the anchors).
func anchorFix(r *Run) *Override {
	scales := []float64{32, 64, 128, 256, 512}
	if r.Config != nil && len(r.Config.Model.RPNAnchorScales) > 0 {
		scales = r.Config.Model.RPNAnchorScales
	}
	parts := make([]string, len(scales))
	for i, s := range scales {
		parts[i] = num(s / 2)
	}
	return &Override{"model.rpn_anchor_scales", "[" + strings.Join(parts, ", ") + "]"}
}

// detectRPN reports an RPN that learns little while it has few positive
// anchors or mostly tiny proposals, or objects no anchor matches.
func detectRPN(r *Run, th Thresholds) []Finding {
	var out []Finding
	for _, s := range r.Stages() {
		if len(s.Train) < th.MinPoints/3 {
			continue
		}
		pos := row0Extra(s.Train, "rpn_positive_anchors")
		small := row0Extra(s.Train, "small_proposal_fraction")
		drop := lossDrop(s.Train, headLosses["rpn"])
		starvedPos := finite(pos) && pos < th.MinPositiveAnchors
		tooSmall := finite(small) && small > th.MaxSmallProposals
		var unmatched float64
		if r.DataCheck != nil {
			unmatched = r.DataCheck.BestIoUUnder[1]
		}
		if !starvedPos && !tooSmall && unmatched <= 0.25 {
			continue
		}
		stalled := finite(drop) && drop < 0.1
		if !stalled && unmatched <= 0.25 {
			continue
		}
		lo, hi := steps(s.Train)
		var ev []string
		if finite(drop) {
			ev = append(ev, fmt.Sprintf("rpn_class_loss+rpn_bbox_loss %s over steps %d–%d", fell(drop), lo, hi))
		}
		if finite(pos) {
			ev = append(ev, fmt.Sprintf("median rpn_positive_anchors %s per image", num(pos)))
		}
		if finite(small) {
			ev = append(ev, fmt.Sprintf("median small_proposal_fraction %.0f%%", 100*small))
		}
		if unmatched > 0 {
			ev = append(ev, fmt.Sprintf("data check: %.0f%% of objects have no anchor with IoU ≥ 0.5", 100*unmatched))
		}
		f := Finding{
			ID: IDRPNStarved, Severity: Warning, Confidence: 0.7, Stage: s.Index, StageName: s.Name, Subject: "rpn",
			Title:     fmt.Sprintf("the RPN is starved in stage %s", s.Name),
			FirstStep: lo, LastStep: hi, Evidence: ev,
			Numbers:     map[string]float64{"positive_anchors": pos, "small_proposal_fraction": small, "rpn_drop": drop, "unmatched": unmatched},
			Explanation: "The RPN learns from anchors matched to objects and feeds the heads its proposals. With few positive anchors (objects smaller or shaped differently from the anchors) it has little to learn from, and with mostly tiny proposals the heads see slivers instead of objects. Match the anchor scales to the objects and drop tiny proposals.",
			Plots:       []string{"losses", "rpn"},
		}
		if stalled {
			f.Severity, f.Confidence = Error, 0.85
		}
		if tooSmall {
			cur := 0.0
			if sc := r.stageConfig(s.Index); sc != nil {
				cur = sc.RPNMinProposalSize
			}
			f.Fix = append(f.Fix, Override{stageKey(s.Index, "rpn_min_proposal_size"), num(math.Max(4, 2*cur))})
		}
		if starvedPos || unmatched > 0.25 {
			f.Fix = append(f.Fix, *anchorFix(r))
		}
		out = append(out, f)
	}
	return out
}

// detectPlateau reports a stage whose total loss is flat over the window
// while it is not converged.
func detectPlateau(r *Run, th Thresholds) []Finding {
	var out []Finding
	st := r.Stages()
	for k, s := range st {
		if len(s.Train) < th.MinPoints {
			continue
		}
		w := s.Train[max(0, len(s.Train)-th.Window):]
		x, y := series(w, func(r *metrics.Row) float64 { return r.TotalLoss })
		if len(x) < th.MinPoints {
			continue
		}
		out = append(out, componentPlateaus(r, &s, w, th)...)
		ts := theilSen(x, y)
		level := median(y)
		if level <= 0 {
			continue
		}
		span := x[len(x)-1] - x[0]
		change := ts.Slope * span / level
		if change < -th.PlateauDrop || change > th.PlateauDrop {
			continue
		}
		// Converged or stuck: how far the stage brought the loss, and
		// whether the gradients shrank with it.
		_, all := series(s.Train, func(r *metrics.Row) float64 { return r.TotalLoss })
		n0 := max(len(all)/10, 5)
		start := median(all[:min(n0, len(all))])
		drop := 1 - level/start
		_, g := series(s.Train, func(r *metrics.Row) float64 { return r.GradNorm })
		gradRatio := math.NaN()
		if len(g) >= 2*n0 {
			gradRatio = median(g[len(g)-len(x):]) / median(g[:n0])
		}
		valFlatOrDown := true
		if xv, yv := series(s.Val, func(r *metrics.Row) float64 { return r.TotalLoss }); len(xv) >= 3 {
			vs := theilSen(xv, yv)
			valFlatOrDown = vs.Slope*(xv[len(xv)-1]-xv[0])/median(yv) <= th.PlateauDrop
		}
		runStart := median(values(r.startRows(), func(r *metrics.Row) float64 { return r.TotalLoss }))
		if level < 0.1*runStart && valFlatOrDown {
			continue // converged: the loss is a tenth of where the run began
		}
		if drop >= 0.5 && valFlatOrDown && (!finite(gradRatio) || gradRatio < 0.7) {
			continue // converged: the loss halved, gradients shrank, validation agrees
		}
		conf := 0.6
		if ts.Lo*span/level > -th.PlateauDrop {
			conf = 0.9 // even the steepest plausible fall is within the threshold
		}
		lo, hi := int64(x[0]), int64(x[len(x)-1])
		f := Finding{
			ID: IDLossPlateau, Severity: Warning, Confidence: conf, Stage: s.Index, StageName: s.Name, Subject: "total_loss",
			Title:     fmt.Sprintf("total loss has stopped falling in stage %s", s.Name),
			FirstStep: lo, LastStep: hi,
			Evidence: []string{
				fmt.Sprintf("Theil–Sen slope over steps %d–%d: %s per step (%.1f%% of the level %s over the window; 95%% interval %s to %s)", lo, hi, num(ts.Slope), 100*change, num(level), num(ts.Lo), num(ts.Hi)),
				fmt.Sprintf("the stage lowered the loss by %.0f%% from %s", 100*drop, num(start)),
			},
			Numbers:     map[string]float64{"slope": ts.Slope, "relative_change": change, "level": level, "stage_drop": drop, "grad_ratio": gradRatio},
			Explanation: "The loss is flat over the window while it is still far above where the stage began to bring it, and the gradients have not shrunk: training is stuck, not converged.",
			Plots:       []string{"losses", "grad_norms"},
		}
		if finite(gradRatio) {
			f.Evidence = append(f.Evidence, fmt.Sprintf("gradient norm at %.0f%% of its level at the stage start", 100*gradRatio))
		}
		if !valFlatOrDown {
			f.Evidence = append(f.Evidence, "validation loss rises meanwhile")
		}
		lr := r.stageLR(&s)
		ratio := median(values(w, func(row *metrics.Row) float64 {
			var rs []float64
			for g, m := range row.GroupLRMult {
				if wn := row.GroupWeightNorms[g]; m > 0 && wn > 0 {
					rs = append(rs, row.GroupUpdateNorms[g]/wn)
				}
			}
			return median(rs)
		}))
		switch {
		case finite(ratio) && ratio < 1e-4 && lr > 0:
			f.Explanation += fmt.Sprintf(" Updates are tiny (median update/weight %s per step): the learning rate is too low to make progress.", num(ratio))
			f.Fix = []Override{{stageKey(s.Index, "learning_rate"), num(roundSig(lr * 10))}}
		case k+1 < len(st) || (r.Config != nil && s.Index+1 < len(r.Config.Stages)):
			stop := s.Train[len(s.Train)-len(w)].StageStep + 1
			f.Explanation += " The stage has learned what it can with the layers it trains; move on to the next stage earlier."
			f.Fix = []Override{{stageKey(s.Index, "steps"), strconv.FormatInt(stop, 10)}}
		case lr > 0:
			f.Explanation += " Lower the learning rate to settle into the minimum (or set diagnose.on_plateau=reduce_lr to do it automatically)."
			f.Fix = []Override{{stageKey(s.Index, "learning_rate"), num(roundSig(lr * 0.1))}}
		}
		out = append(out, f)
	}
	return out
}

// componentPlateaus reports loss components that stay flat while the
// total still falls: a branch left behind, whose weight can be raised.
func componentPlateaus(r *Run, s *Stage, w []metrics.Row, th Thresholds) []Finding {
	xt, yt := series(w, func(r *metrics.Row) float64 { return r.TotalLoss })
	tt := theilSen(xt, yt)
	if tt.Hi >= 0 { // the total is not clearly falling: the total's test speaks
		return nil
	}
	var out []Finding
	for _, n := range graphs.LossNames {
		x, y := series(w, func(r *metrics.Row) float64 { return r.Losses[n] })
		if len(x) < th.MinPoints {
			continue
		}
		level := median(y)
		start := median(values(r.startRows(), func(r *metrics.Row) float64 { return r.Losses[n] }))
		share := median(values(w, func(r *metrics.Row) float64 {
			var t float64
			for _, v := range r.WeightedLosses {
				t += v
			}
			if t <= 0 {
				return math.NaN()
			}
			return r.WeightedLosses[n] / t
		}))
		if level <= 0 || level < 0.1*start || !(share > 0.1) {
			continue // done, or too small a part of the total to matter
		}
		ts := theilSen(x, y)
		span := x[len(x)-1] - x[0]
		// Flat with confidence: even the steepest plausible fall is small.
		if ts.Lo*span/level < -th.PlateauDrop || ts.Hi*span/level > th.PlateauDrop {
			continue
		}
		lo, hi := int64(x[0]), int64(x[len(x)-1])
		f := Finding{
			ID: IDLossPlateau, Severity: Info, Confidence: 0.6, Stage: s.Index, StageName: s.Name, Subject: n,
			Title:     fmt.Sprintf("%s has stopped falling in stage %s while the total still falls", n, s.Name),
			FirstStep: lo, LastStep: hi,
			Evidence: []string{
				fmt.Sprintf("Theil–Sen slope of %s over steps %d–%d: %s per step (95%% interval %s to %s), level %s", n, lo, hi, num(ts.Slope), num(ts.Lo), num(ts.Hi), num(level)),
				fmt.Sprintf("total loss slope meanwhile %s per step", num(tt.Slope)),
				fmt.Sprintf("its share of the weighted total %.0f%%", 100*share),
			},
			Numbers:     map[string]float64{"slope": ts.Slope, "level": level, "share": share},
			Explanation: "This branch is left behind while the others improve: its share of the gradient is too small, or the layers that could lower it are frozen. Weight it up.",
			Plots:       []string{"losses"},
		}
		wt := median(values(w, func(r *metrics.Row) float64 {
			if v, ok := r.LossWeights[n]; ok {
				return v
			}
			return math.NaN()
		}))
		if !finite(wt) {
			wt = 1 // rows without weights: the config's, else matterport's 1
			if sc := r.stageConfig(s.Index); sc != nil {
				if v, ok := sc.LossWeights[n]; ok {
					wt = v
				}
			}
		}
		if wt > 0 {
			f.Fix = []Override{{stageKey(s.Index, "loss_weights."+n), num(roundSig(2 * wt))}}
		}
		out = append(out, f)
	}
	return out
}

// detectOverfitting reports validation loss rising while training loss
// falls.
func detectOverfitting(r *Run, th Thresholds) []Finding {
	xv, yv := series(r.Val, func(r *metrics.Row) float64 { return r.TotalLoss })
	if len(xv) < 4 {
		return nil
	}
	// Look at validation from its minimum on; it must rise afterwards.
	im := 0
	for i := range yv {
		if yv[i] < yv[im] {
			im = i
		}
	}
	if len(xv)-im < 3 {
		return nil
	}
	vs := theilSen(xv[im:], yv[im:])
	level := median(yv[im:])
	span := xv[len(xv)-1] - xv[im]
	rise := vs.Slope * span / level
	var tr []metrics.Row
	for i := range r.Train {
		if float64(r.Train[i].Step) >= xv[im] {
			tr = append(tr, r.Train[i])
		}
	}
	xt, yt := series(tr, func(r *metrics.Row) float64 { return r.TotalLoss })
	if rise < th.Rise || len(xt) < 5 {
		return nil
	}
	ts := theilSen(xt, yt)
	if ts.Hi >= 0 || vs.Lo <= 0 {
		return nil // neither trend is clear: noise, not overfitting
	}
	si, name := stageAt(r, int64(xv[im]))
	minStep := int64(xv[im])
	f := Finding{
		ID: IDOverfitting, Severity: Warning, Confidence: math.Min(1, 0.5+rise), Stage: si, StageName: name,
		Title:     fmt.Sprintf("validation loss rises after step %d while the training loss falls", minStep),
		FirstStep: minStep, LastStep: int64(xv[len(xv)-1]),
		Evidence: []string{
			fmt.Sprintf("validation total loss: minimum %s at step %d, then up %.0f%% by step %d (Theil–Sen)", num(yv[im]), minStep, 100*rise, int64(xv[len(xv)-1])),
			fmt.Sprintf("training total loss meanwhile: slope %s per step", num(ts.Slope)),
		},
		Numbers:     map[string]float64{"rise": rise, "best_step": float64(minStep), "best_val": yv[im]},
		Explanation: "The model memorises the training images instead of learning what generalises. Stop where validation was best (the best checkpoint is kept by checkpoint.keep_best), regularise more, or augment.",
		Plots:       []string{"validation", "losses"},
	}
	for i := range r.Train {
		if r.Train[i].Step == minStep {
			f.Fix = append(f.Fix, Override{stageKey(si, "steps"), strconv.FormatInt(r.Train[i].StageStep+1, 10)})
		}
	}
	if r.Config != nil {
		f.Fix = append(f.Fix, Override{"optimizer.weight_decay", num(roundSig(math.Max(r.Config.Optimizer.WeightDecay*10, 1e-4)))})
		if !r.Config.Data.AugmentFlip {
			f.Fix = append(f.Fix, Override{"data.augment_flip", "true"})
		}
	}
	return []Finding{f}
}

// detectDataStarvation reports a model that waits for its batches.
func detectDataStarvation(r *Run, th Thresholds) []Finding {
	if r.DryRun || len(r.Train) < th.MinPoints/3 {
		return nil // the stand-in's step time says nothing about the model's
	}
	rows := r.Train[min(3, len(r.Train)):]
	var shares []float64
	var wait, total float64
	for i := range rows {
		w, s := rows[i].DataWaitSeconds, rows[i].StepSeconds
		if s <= 0 && w <= 0 {
			continue
		}
		shares = append(shares, w/(w+s))
		wait += w
		total += w + s
	}
	if len(shares) < th.MinPoints/3 {
		return nil
	}
	med := median(shares)
	if med < th.DataWaitShare {
		return nil
	}
	lo, hi := steps(rows)
	sev := Warning
	if med >= 0.5 {
		sev = Error
	}
	f := Finding{
		ID: IDDataStarvation, Severity: sev, Confidence: math.Min(1, 0.5+med), Stage: -1,
		Title:     fmt.Sprintf("the model waits for data %.0f%% of each step", 100*med),
		FirstStep: lo, LastStep: hi,
		Evidence: []string{
			fmt.Sprintf("median data_wait_s/(data_wait_s+step_s) %.0f%% over steps %d–%d", 100*med, lo, hi),
			fmt.Sprintf("in total %.1f s waiting out of %.1f s", wait, total),
		},
		Numbers:     map[string]float64{"median_share": med, "wait_s": wait, "total_s": total},
		Explanation: "The data loader (decode, resize, masks, anchor targets) cannot keep up with the model, so the accelerator idles. More loader workers and a deeper prefetch queue help when the machine has idle cores; otherwise shrink the images (model.image_max_dim) or pre-resize the dataset.",
		Plots:       []string{"timing"},
	}
	workers, prefetch := 0, 4
	if r.Config != nil {
		workers, prefetch = r.Config.Data.Workers, r.Config.Data.Prefetch
	}
	if workers > 0 {
		f.Fix = append(f.Fix, Override{"data.workers", strconv.Itoa(2 * workers)})
	}
	f.Fix = append(f.Fix, Override{"data.prefetch", strconv.Itoa(max(2*prefetch, 8))})
	return []Finding{f}
}
