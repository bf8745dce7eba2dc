package report

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/graftrain/graftrain/diagnose"
	"github.com/graftrain/graftrain/graphs"
	"github.com/graftrain/graftrain/train/metrics"
)

// Plot is one figure of the report.
type Plot struct {
	Name    string // stable: losses, lr, grad_norms, update_ratios, validation, timing, rpn
	Title   string
	File    string // PNG file name in the report directory
	Caption string
}

type curve struct {
	name string
	xy   plotter.XYs
}

func finite(v float64) bool {
	return !math.IsNaN(v) && !math.IsInf(v, 0) && math.Abs(v) < math.MaxFloat64
}

func trainCurve(rows []metrics.Row, name string, f func(*metrics.Row) (float64, bool), positive bool) curve {
	c := curve{name: name}
	for i := range rows {
		r := &rows[i]
		if r.NonFinite {
			continue
		}
		v, ok := f(r)
		if !ok || !finite(v) || (positive && v <= 0) {
			continue
		}
		c.xy = append(c.xy, plotter.XY{X: float64(r.Step), Y: v})
	}
	return c
}

// boundaries are the steps where a new stage starts.
func boundaries(r *diagnose.Run) []float64 {
	var out []float64
	for i := 1; i < len(r.Train); i++ {
		if r.Train[i].StageIndex != r.Train[i-1].StageIndex {
			out = append(out, float64(r.Train[i].Step)-0.5)
		}
	}
	return out
}

// draw writes one line plot; it returns false when there is nothing to draw.
func drawPlot(path, title, ylabel string, curves []curve, log bool, marks []float64, extra func(p *plot.Plot)) (bool, error) {
	var cs []curve
	for _, c := range curves {
		if len(c.xy) > 0 {
			cs = append(cs, c)
		}
	}
	if len(cs) == 0 {
		return false, nil
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "step"
	p.Y.Label.Text = ylabel
	leg := plot.NewLegend()
	leg.Top, leg.Left = true, true
	p.Add(plotter.NewGrid())
	if log {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	ymin, ymax := math.Inf(1), math.Inf(-1)
	for i, c := range cs {
		l, err := plotter.NewLine(c.xy)
		if err != nil {
			return false, fmt.Errorf("plot %s: %w", title, err)
		}
		l.Color = plotutil.Color(i)
		l.Dashes = plotutil.Dashes(i / 7)
		l.Width = vg.Points(1.2)
		if c.name == "total_loss" || c.name == "global" {
			l.Color, l.Width = color.Black, vg.Points(2)
		}
		p.Add(l)
		leg.Add(c.name, l)
		for _, v := range c.xy {
			ymin, ymax = math.Min(ymin, v.Y), math.Max(ymax, v.Y)
		}
	}
	if ymin == ymax {
		ymax = ymin + math.Max(math.Abs(ymin)*0.1, 1e-12)
		if log {
			ymin, ymax = ymin/2, ymin*2
		}
	}
	if log {
		// gonum pads a flat range below zero, which a log axis cannot show.
		p.Y.Min, p.Y.Max = ymin, ymax
	}
	for _, m := range marks {
		l, err := plotter.NewLine(plotter.XYs{{X: m, Y: ymin}, {X: m, Y: ymax}})
		if err != nil {
			return false, err
		}
		l.Color = color.Gray{Y: 90}
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		l.Width = vg.Points(1.5)
		p.Add(l)
	}
	if extra != nil {
		extra(p)
	}
	// The legend gets its own column right of the axes, so it never hides
	// the curves.
	const w, h, legW = 8.8 * vg.Inch, 3.6 * vg.Inch, 1.9 * vg.Inch
	img := vgimg.New(w, h)
	dc := draw.New(img)
	p.Draw(draw.Crop(dc, 0, -legW, 0, 0))
	leg.Draw(draw.Crop(dc, w-legW+0.1*vg.Inch, 0, 0, -0.3*vg.Inch))
	f, err := os.Create(path)
	if err != nil {
		return false, fmt.Errorf("save plot: %w", err)
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return false, fmt.Errorf("save plot %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return false, fmt.Errorf("save plot %s: %w", path, err)
	}
	return true, nil
}

// makePlots writes every plot the run has data for into dir.
func makePlots(dir string, r *diagnose.Run) ([]Plot, error) {
	marks := boundaries(r)
	var out []Plot
	add := func(name, title, ylabel, caption string, curves []curve, log bool, extra func(*plot.Plot)) error {
		file := name + ".png"
		ok, err := drawPlot(filepath.Join(dir, file), title, ylabel, curves, log, marks, extra)
		if err != nil || !ok {
			return err
		}
		out = append(out, Plot{Name: name, Title: title, File: file, Caption: caption})
		return nil
	}
	tr := r.Train
	// Losses.
	var lc []curve
	lc = append(lc, trainCurve(tr, "total_loss", func(r *metrics.Row) (float64, bool) { return r.TotalLoss, true }, true))
	for _, n := range graphs.LossNames {
		lc = append(lc, trainCurve(tr, n, func(r *metrics.Row) (float64, bool) { v, ok := r.Losses[n]; return v, ok }, true))
	}
	if err := add("losses", "Training losses (unweighted; dashed lines: stage switches)", "loss", "Each loss component and the weighted total per step, log scale.", lc, true, nil); err != nil {
		return nil, err
	}
	if err := add("lr", "Learning rate", "learning rate", "The stage learning rate fed each step (before per-group multipliers).",
		[]curve{trainCurve(tr, "lr", func(r *metrics.Row) (float64, bool) { return r.LR, true }, false)}, false, nil); err != nil {
		return nil, err
	}
	groups := diagnose.GroupNames(tr)
	gc := []curve{trainCurve(tr, "global", func(r *metrics.Row) (float64, bool) { return r.GradNorm, true }, true),
		trainCurve(tr, "clip_norm", func(r *metrics.Row) (float64, bool) { return r.ClipNorm, r.ClipNorm > 0 }, true)}
	for _, g := range groups {
		gc = append(gc, trainCurve(tr, g, func(r *metrics.Row) (float64, bool) { v, ok := r.GroupGradNorms[g]; return v, ok }, true))
	}
	if err := add("grad_norms", "Gradient norms (global, clip norm and per group)", "L2 norm", "Global gradient norm before clipping, the clip norm, and each group's gradient norm, log scale.", gc, true, nil); err != nil {
		return nil, err
	}
	var uc []curve
	for _, g := range groups {
		uc = append(uc, trainCurve(tr, g, func(r *metrics.Row) (float64, bool) {
			w := r.GroupWeightNorms[g]
			if w > 0 {
				return r.GroupUpdateNorms[g] / w, true
			}
			return r.GroupUpdateNorms[g], r.GroupUpdateNorms[g] > 0
		}, true))
	}
	if err := add("update_ratios", "Update-to-weight ratio per group (healthy about 1e-4 to 1e-2)", "update norm / weight norm", "Per group, the norm of the update applied each step over the group's weight norm (the update norm itself when weight norms are not recorded); frozen groups have no points.", uc, true, nil); err != nil {
		return nil, err
	}
	if len(r.Val) > 0 {
		vc := []curve{
			trainCurve(r.Val, "val total_loss", func(r *metrics.Row) (float64, bool) { return r.TotalLoss, true }, true),
			smooth(trainCurve(tr, "train total_loss (median of 9)", func(r *metrics.Row) (float64, bool) { return r.TotalLoss, true }, true), 9),
		}
		for _, n := range graphs.LossNames {
			vc = append(vc, trainCurve(r.Val, "val "+n, func(r *metrics.Row) (float64, bool) { v, ok := r.Losses[n]; return v, ok }, true))
		}
		if err := add("validation", "Validation losses", "loss", "Validation losses at each validation pass, with the training total smoothed by a running median, log scale.", vc, true, nil); err != nil {
			return nil, err
		}
	}
	tc := []curve{
		trainCurve(tr, "data_wait_s", func(r *metrics.Row) (float64, bool) { return r.DataWaitSeconds, true }, true),
		trainCurve(tr, "step_s", func(r *metrics.Row) (float64, bool) { return r.StepSeconds, true }, true),
	}
	if err := add("timing", "Time per step: waiting for data and computing", "seconds", "Seconds each step waited for its batch and spent in the model, log scale.", tc, true, nil); err != nil {
		return nil, err
	}
	var xc []curve
	for _, k := range []string{"rpn_positive_anchors", "small_proposal_fraction", "roi_positive_fraction"} {
		xc = append(xc, trainCurve(tr, k, func(r *metrics.Row) (float64, bool) { v, ok := r.Extra[k]; return v, ok }, false))
	}
	if err := add("rpn", "RPN and ROI statistics", "value", "The model's optional outputs: positive anchors per image, share of tiny proposals, share of positive ROIs.", xc, false, nil); err != nil {
		return nil, err
	}
	return out, nil
}

// smooth replaces each point by the median of the k around it.
func smooth(c curve, k int) curve {
	out := curve{name: c.name, xy: make(plotter.XYs, len(c.xy))}
	for i := range c.xy {
		lo, hi := max(0, i-k/2), min(len(c.xy), i+k/2+1)
		w := make([]float64, 0, hi-lo)
		for _, p := range c.xy[lo:hi] {
			w = append(w, p.Y)
		}
		slices.Sort(w)
		out.xy[i] = plotter.XY{X: c.xy[i].X, Y: w[len(w)/2]}
	}
	return out
}
