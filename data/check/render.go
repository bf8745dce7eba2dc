package check

import (
	"fmt"
	"io"
	"text/tabwriter"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// WriteText writes the report for a terminal.
func (r *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "dataset\t%s\n", r.Annotations)
	fmt.Fprintf(tw, "images\t%d in the file, %d usable, %d without non-crowd instances\n", r.Images, r.Usable, r.EmptyImages)
	fmt.Fprintf(tw, "instances\t%d (+%d crowd regions), %d empty annotations dropped\n", r.Instances, r.Crowd, r.Empty)
	fmt.Fprintf(tw, "missing image files\t%d\n", r.Missing)
	fmt.Fprintf(tw, "boxes outside their image\t%d\n", r.OutOfImage)
	tw.Flush()
	if len(r.Problems) > 0 {
		fmt.Fprintf(w, "\nproblems (%d):\n", len(r.Problems))
		for _, p := range r.Problems {
			fmt.Fprintf(w, "  %s\n", p)
		}
	}
	if len(r.Sizes) == 0 {
		return nil
	}
	fmt.Fprintf(w, "\nobject size (sqrt of box area, molded pixels) against the anchor scales:\n")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "size\tobjects\tshare\tanchor\t\n")
	for _, b := range r.Sizes {
		hi := fmt.Sprint(b.Hi)
		if b.Hi == 0 {
			hi = "∞"
		}
		anchor := ""
		if b.Anchor > 0 {
			anchor = fmt.Sprint(b.Anchor)
		}
		fmt.Fprintf(tw, "%v–%s\t%d\t%.1f%%\t%s\t\n", b.Lo, hi, b.Count, pct(b.Count, r.Instances), anchor)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nbest anchor IoU under 0.3 / 0.5 / 0.7: %.1f%% / %.1f%% / %.1f%% of boxes\n",
		100*r.BestIoUUnder[0], 100*r.BestIoUUnder[1], 100*r.BestIoUUnder[2])
	fmt.Fprintf(w, "  (below 0.7 a box gets only its best anchors as positives; below 0.3 the RPN can hardly learn it)\n")
	fmt.Fprintf(w, "tiny objects (shorter side < %v molded px): %d\n", TinySide, r.Tiny)
	fmt.Fprintf(w, "instances per image: max %d, mean %.1f; %d images over max_gt_instances %d (extra instances dropped at random)\n",
		r.MaxInstances, r.MeanInstances, r.OverMaxGT, r.MaxGTInstances)
	fmt.Fprintf(w, "\nclasses:\n")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "id\tname\tinstances\timages\n")
	for _, c := range r.Sorted() {
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d\n", c.ID, c.Name, c.Instances, c.Images)
	}
	return tw.Flush()
}

func pct(n, total int) float64 {
	if total == 0 {
		return 0
	}
	return 100 * float64(n) / float64(total)
}

// PlotSizes writes the object-size histogram as a PNG.
func (r *Report) PlotSizes(path string) error {
	p := plot.New()
	p.Title.Text = "Object sizes against anchor scales"
	p.Y.Label.Text = "objects"
	p.X.Label.Text = "sqrt(box area), molded pixels (* = an anchor scale)"
	vals := make(plotter.Values, len(r.Sizes))
	labels := make([]string, len(r.Sizes))
	for i, b := range r.Sizes {
		vals[i] = float64(b.Count)
		labels[i] = fmt.Sprintf("<%v", b.Hi)
		if b.Hi == 0 {
			labels[i] = fmt.Sprintf(">=%v", b.Lo)
		}
		if b.Anchor > 0 {
			labels[i] += "*"
		}
	}
	bars, err := plotter.NewBarChart(vals, vg.Points(20))
	if err != nil {
		return err
	}
	p.Add(bars)
	p.NominalX(labels...)
	return p.Save(8*vg.Inch, 4*vg.Inch, path)
}
