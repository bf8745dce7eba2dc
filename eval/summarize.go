package eval

import (
	"fmt"
	"io"
)

// Stats are the twelve COCO summary numbers in pycocotools' order: AP at
// IoU .50:.95, .50 and .75, AP for small, medium and large objects, AR with
// 1, 10 and 100 detections per image, AR for small, medium and large.
type Stats [12]float64

// statDef is one summary line: AP (or AR), an IoU threshold (0 = mean over
// all), an area range label and a max-detection count.
type statDef struct {
	ap      bool
	iou     float64
	area    string
	maxDets int
}

func (e *Eval) statDefs() [12]statDef {
	md := e.Params.MaxDets
	at := func(i int) int {
		if i < len(md) {
			return md[i]
		}
		return -1
	}
	return [12]statDef{
		{true, 0, "all", 100},
		{true, .5, "all", at(2)},
		{true, .75, "all", at(2)},
		{true, 0, "small", at(2)},
		{true, 0, "medium", at(2)},
		{true, 0, "large", at(2)},
		{false, 0, "all", at(0)},
		{false, 0, "all", at(1)},
		{false, 0, "all", at(2)},
		{false, 0, "small", at(2)},
		{false, 0, "medium", at(2)},
		{false, 0, "large", at(2)},
	}
}

// Stats returns the twelve summary numbers over all categories.
func (e *Eval) Stats() Stats { return e.stats(-1) }

// CategoryStats returns the twelve summary numbers of category index k
// (Params.CatIDs order), -1 where the category has no object.
func (e *Eval) CategoryStats(k int) Stats { return e.stats(k) }

func (e *Eval) stats(k int) Stats {
	var s Stats
	for i, d := range e.statDefs() {
		s[i] = e.summarize(d, k)
	}
	return s
}

// summarize is COCOeval's _summarize: the mean of the selected precision
// (or recall) values above -1, in numpy's element order and summation, or
// -1 when there is none. k < 0 selects every category.
func (e *Eval) summarize(d statDef, k int) float64 {
	p := &e.Params
	var ts []int
	for t, thr := range p.IoUThrs {
		if d.iou == 0 || thr == d.iou {
			ts = append(ts, t)
		}
	}
	a, m := -1, -1
	for i, r := range p.AreaRanges {
		if r.Label == d.area {
			a = i
			break
		}
	}
	for i, v := range p.MaxDets {
		if v == d.maxDets {
			m = i
			break
		}
	}
	if a < 0 || m < 0 {
		return -1
	}
	k0, k1 := 0, e.K
	if k >= 0 {
		k0, k1 = k, k+1
	}
	var vals []float64
	for _, t := range ts {
		if d.ap {
			for r := range e.R {
				for kk := k0; kk < k1; kk++ {
					if v := e.PrecisionAt(t, r, kk, a, m); v > -1 {
						vals = append(vals, v)
					}
				}
			}
		} else {
			for kk := k0; kk < k1; kk++ {
				if v := e.RecallAt(t, kk, a, m); v > -1 {
					vals = append(vals, v)
				}
			}
		}
	}
	if len(vals) == 0 {
		return -1
	}
	return pairwiseSum(vals) / float64(len(vals))
}

// pairwiseSum adds v as numpy's add.reduce does for a contiguous float64
// array (starting from 0, blocks of up to 128 summed with eight
// accumulators, larger ranges split in halves), so that means round the
// same way.
func pairwiseSum(v []float64) float64 { return 0 + pairwise(v) }

func pairwise(v []float64) float64 {
	n := len(v)
	switch {
	case n < 8:
		res := 0.0
		for _, x := range v {
			res += x
		}
		return res
	case n <= 128:
		var r [8]float64
		copy(r[:], v[:8])
		i := 8
		for ; i < n-n%8; i += 8 {
			for j := range 8 {
				r[j] += v[i+j]
			}
		}
		res := ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
		for ; i < n; i++ {
			res += v[i]
		}
		return res
	default:
		n2 := n / 2
		n2 -= n2 % 8
		return pairwise(v[:n2]) + pairwise(v[n2:])
	}
}

// WriteSummary prints the twelve lines exactly as pycocotools' summarize
// does.
func (e *Eval) WriteSummary(w io.Writer) error {
	s := e.Stats()
	p := &e.Params
	for i, d := range e.statDefs() {
		title, typ := "Average Precision", "(AP)"
		if !d.ap {
			title, typ = "Average Recall", "(AR)"
		}
		iou := fmt.Sprintf("%0.2f", d.iou)
		if d.iou == 0 && len(p.IoUThrs) > 0 {
			iou = fmt.Sprintf("%0.2f:%0.2f", p.IoUThrs[0], p.IoUThrs[len(p.IoUThrs)-1])
		}
		if _, err := fmt.Fprintf(w, " %-18s %s @[ IoU=%-9s | area=%6s | maxDets=%3d ] = %0.3f\n",
			title, typ, iou, d.area, d.maxDets, s[i]); err != nil {
			return err
		}
	}
	return nil
}
