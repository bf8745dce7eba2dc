package diagnose

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/graftrain/graftrain/graphs"
	"github.com/graftrain/graftrain/train/metrics"
)

// Thresholds tune the detectors. DefaultThresholds are the values the
// docs describe.
type Thresholds struct {
	// Window is the number of most recent steps of a stage the plateau
	// test fits a trend over.
	Window int
	// MinPoints is the fewest steps any trend is fitted on.
	MinPoints int
	// PlateauDrop: a loss that falls by less than this fraction of its
	// level over the window is on a plateau.
	PlateauDrop float64
	// DominantShare: one branch's share of the weighted total above this
	// dominates.
	DominantShare float64
	// ClipFraction and ClipRatio: clipping is saturated when at least
	// ClipFraction of a stage's steps clip and the median grad_norm is
	// ClipRatio times clip_norm or more.
	ClipFraction, ClipRatio float64
	// RatioLow and RatioHigh bound the healthy update-to-weight ratio of a
	// training group per step.
	RatioLow, RatioHigh float64
	// SpikeFactor: the summed losses right after a stage switch above
	// SpikeFactor times their level before it is a spike.
	SpikeFactor float64
	// ZeroHeadFraction of at least ZeroHeadSteps steps with both head
	// losses exactly 0 means no positive ROI reaches the heads.
	ZeroHeadFraction float64
	ZeroHeadSteps    int
	// MinPositiveAnchors per image and MaxSmallProposals (fraction) bound
	// a fed RPN.
	MinPositiveAnchors, MaxSmallProposals float64
	// DataWaitShare of the step time spent waiting for data starves the
	// model.
	DataWaitShare float64
	// Rise: validation loss rising by this fraction of its level over the
	// validated steps while the training loss falls is overfitting.
	Rise float64
}

// DefaultThresholds returns the documented thresholds with the given
// plateau window (0: 200 steps).
func DefaultThresholds(window int) Thresholds {
	if window <= 0 {
		window = 200
	}
	return Thresholds{
		Window: window, MinPoints: 30, PlateauDrop: 0.05,
		DominantShare: 0.6, ClipFraction: 0.8, ClipRatio: 2,
		RatioLow: 1e-6, RatioHigh: 0.05, SpikeFactor: 1.5,
		ZeroHeadFraction: 0.9, ZeroHeadSteps: 20,
		MinPositiveAnchors: 4, MaxSmallProposals: 0.5,
		DataWaitShare: 0.2, Rise: 0.05,
	}
}

// headLosses says which losses only a head group's variables feed: a
// frozen head cannot lower them.
var headLosses = map[string][]string{
	"rpn":         {"rpn_class_loss", "rpn_bbox_loss"},
	"mrcnn_class": {"mrcnn_class_loss"},
	"mrcnn_bbox":  {"mrcnn_bbox_loss"},
	"mrcnn_mask":  {"mrcnn_mask_loss"},
}

// backboneGroups learn at a fraction of the stage rate when they unfreeze.
var backboneGroups = map[string]float64{"conv1": 0.1, "res2": 0.1, "res3": 0.1, "res4": 0.1, "res5": 0.1, "rpn": 0.2}

type detector func(r *Run, th Thresholds) []Finding

var detectors = []detector{
	detectNonFinite, detectFrozenMoved, detectGroupNotTraining, detectGradientRatios,
	detectStageSwitch, detectClipping, detectBranchDominates, detectHeadsNoPositives,
	detectRPN, detectPlateau, detectOverfitting, detectDataStarvation,
}

// Diagnose runs every detector over r and returns the findings, ranked.
func Diagnose(r *Run, th Thresholds) []Finding {
	var fs []Finding
	for _, d := range detectors {
		fs = append(fs, d(r, th)...)
	}
	explain(fs)
	Rank(fs)
	return fs
}

// explain marks findings that are most likely consequences of another
// finding in the same stage and ranks them below it.
func explain(fs []Finding) {
	causes := map[string][]string{
		IDStageSwitchSpike:   {IDClippingSaturated, IDExplodingGradients, IDNonFiniteLosses, IDLossPlateau},
		IDBranchDominates:    {IDClippingSaturated, IDExplodingGradients, IDLossPlateau, IDNonFiniteLosses},
		IDGroupNotTraining:   {IDLossPlateau, IDVanishingGradients},
		IDHeadsNoPositives:   {IDLossPlateau, IDBranchDominates},
		IDFrozenGroupMoved:   {IDGroupNotTraining},
		IDClippingSaturated:  {IDExplodingGradients, IDLossPlateau, IDNonFiniteLosses, IDBranchDominates},
		IDVanishingGradients: {IDLossPlateau},
	}
	// Root causes claim their consequences first; a cause already
	// explained by another explains nothing itself.
	order := []string{IDFrozenGroupMoved, IDHeadsNoPositives, IDGroupNotTraining, IDStageSwitchSpike, IDBranchDominates, IDClippingSaturated, IDVanishingGradients}
	for _, id := range order {
		for i := range fs {
			c := &fs[i]
			if c.ID != id || c.ExplainedBy != "" {
				continue
			}
			if c.ID == IDBranchDominates && c.Numbers["weight_ratio"] < 10 {
				continue // a natural imbalance, not a configured cause
			}
			for j := range fs {
				e := &fs[j]
				if i == j || e.ExplainedBy != "" || (e.Stage != c.Stage && e.Stage >= 0 && c.Stage >= 0) || !slices.Contains(causes[c.ID], e.ID) {
					continue
				}
				e.ExplainedBy = c.ID
				if e.Severity >= c.Severity {
					e.Severity = max(c.Severity-1, Info)
				}
				e.Evidence = append(e.Evidence, fmt.Sprintf("most likely a consequence of %s in the same stage: fix that first", c.ID))
			}
		}
	}
	// A stage that diverged (error-level clipping, exploding updates or
	// NaN) leaves the next stages a wrecked model: what goes wrong there
	// follows from it.
	diverged := -1
	for _, f := range fs {
		if f.Severity >= Error && f.Stage >= 0 && f.ExplainedBy == "" && (f.ID == IDClippingSaturated || f.ID == IDExplodingGradients || f.ID == IDNonFiniteLosses) {
			if diverged < 0 || f.Stage < diverged {
				diverged = f.Stage
			}
		}
	}
	if diverged >= 0 {
		for i := range fs {
			if e := &fs[i]; e.Stage > diverged && e.ExplainedBy == "" && e.ID != IDFrozenGroupMoved {
				e.ExplainedBy = fmt.Sprintf("divergence in stage %d", diverged)
				e.Severity = max(min(e.Severity, Error)-1, Info)
				e.Evidence = append(e.Evidence, fmt.Sprintf("stage %d diverged before this: fix that first", diverged))
			}
		}
	}
}

// --- helpers over rows ---

func lossSum(r *metrics.Row) float64 {
	var s float64
	for _, n := range graphs.LossNames {
		s += r.Losses[n]
	}
	return s
}

func usable(r *metrics.Row) bool { return !r.NonFinite && finite(r.TotalLoss) }

// series returns (step, f(row)) over rows whose value is finite.
func series(rows []metrics.Row, f func(*metrics.Row) float64) (x, y []float64) {
	for i := range rows {
		if !usable(&rows[i]) {
			continue
		}
		if v := f(&rows[i]); finite(v) {
			x = append(x, float64(rows[i].Step))
			y = append(y, v)
		}
	}
	return x, y
}

func values(rows []metrics.Row, f func(*metrics.Row) float64) []float64 {
	_, y := series(rows, f)
	return y
}

// GroupNames lists, sorted, every group that appears in rows' per-group
// multipliers, gradient norms or update norms.
func GroupNames(rows []metrics.Row) []string {
	seen := map[string]bool{}
	for i := range rows {
		for _, m := range []map[string]float64{rows[i].GroupLRMult, rows[i].GroupGradNorms, rows[i].GroupUpdateNorms} {
			for g := range m {
				seen[g] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for g := range seen {
		out = append(out, g)
	}
	slices.Sort(out)
	return out
}

func stageKey(i int, k string) string { return "stages." + strconv.Itoa(i) + "." + k }

func num(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }

func steps(rows []metrics.Row) (int64, int64) {
	if len(rows) == 0 {
		return 0, 0
	}
	return rows[0].Step, rows[len(rows)-1].Step
}

// stageLR is the stage's base learning rate: the config's, else the
// largest LR its rows show.
func (r *Run) stageLR(s *Stage) float64 {
	if c := r.stageConfig(s.Index); c != nil && c.LearningRate > 0 {
		return c.LearningRate
	}
	var lr float64
	for i := range s.Train {
		lr = max(lr, s.Train[i].LR)
	}
	return lr
}

// trainedGroups are the groups with a multiplier above 0 in most of the
// stage's rows.
func trainedGroups(rows []metrics.Row) []string {
	var out []string
	for _, g := range GroupNames(rows) {
		n := 0
		for i := range rows {
			if rows[i].GroupLRMult[g] > 0 {
				n++
			}
		}
		if 2*n > len(rows) {
			out = append(out, g)
		}
	}
	return out
}

// fell says how a relative drop reads: "fell 12.0%" or "rose 3.1%".
func fell(d float64) string {
	if d < 0 {
		return fmt.Sprintf("rose %.1f%%", -100*d)
	}
	return fmt.Sprintf("fell %.1f%%", 100*d)
}

func frac(n, d int) float64 {
	if d == 0 {
		return 0
	}
	return float64(n) / float64(d)
}

// relDrop is the relative fall of a series over a stage: 1 − (level at the
// end)/(level at the start), from the Theil–Sen line.
func relDrop(x, y []float64) float64 {
	if len(x) < 2 {
		return math.NaN()
	}
	s := theilSen(x, y)
	start := s.Intercept + s.Slope*x[0]
	end := s.Intercept + s.Slope*x[len(x)-1]
	if start <= 0 {
		return math.NaN()
	}
	return 1 - end/start
}

// lossDrop is the relative fall over the rows of the sum of the losses.
func lossDrop(rows []metrics.Row, losses []string) float64 {
	x, y := series(rows, func(r *metrics.Row) float64 {
		var s float64
		for _, l := range losses {
			s += r.Losses[l]
		}
		return s
	})
	return relDrop(x, y)
}
