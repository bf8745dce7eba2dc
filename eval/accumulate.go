package eval

import (
	"cmp"
	"context"
	"runtime"
	"slices"
	"sort"
	"sync"
)

// eps is numpy.spacing(1), added to precision denominators as COCOeval does.
const eps = 2.220446049250313e-16

// entry is one detection in a category's score-ordered list.
type entry struct {
	score float64
	unit  int32 // position in the category's unit list (image order)
	rank  int32 // position in the unit's score order
}

// accumulate is COCOeval's accumulate: per category, detections of all
// images are merged by score (ties in image order, then in the image's own
// order, as numpy's stable mergesort of the concatenation gives) and
// precision is read at the recall points.
func (ev *evaluator) accumulate(ctx context.Context, units [][]unit, opt Options) (*Eval, error) {
	p := &ev.p
	T, R, A, M := len(p.IoUThrs), len(p.RecThrs), len(p.AreaRanges), len(p.MaxDets)
	K := 1
	if p.UseCats {
		K = len(p.CatIDs)
	}
	e := &Eval{
		Params: *p, T: T, R: R, K: K, A: A, M: M,
		Precision: filled(T*R*K*A*M, -1),
		Recall:    filled(T*K*A*M, -1),
		Scores:    filled(T*R*K*A*M, -1),
	}
	// Units of each category in image order.
	byCat := make([][]*unit, K)
	for i := range units {
		for x := range units[i] {
			u := &units[i][x]
			byCat[u.k] = append(byCat[u.k], u)
		}
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	ch := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var c curve
			for k := range ch {
				c.category(e, k, byCat[k])
			}
		}()
	}
	for k := range K {
		if ctx.Err() != nil {
			break
		}
		ch <- k
	}
	close(ch)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return e, nil
}

// curve holds one worker's buffers for building precision/recall curves.
type curve struct {
	all  []entry
	sels [][]int32 // per max-detection limit: positions in all with rank below it
	fl   []uint8   // [len(all)][T] flags of the entries at one area range
	tpAt []int32   // positions (in the selection) of the true positives
	prAt []float64 // precision at each true positive, then its envelope
}

// category fills the arrays of category k. It reads precision only where
// COCOeval can: the envelope max(pr[j], j >= i) is reached at a true
// positive, and the first detection reaching a recall point > 0 is one, so
// a pass that divides only at true positives gives the same numbers as
// pycocotools' full tp/fp cumulative sums.
func (c *curve) category(e *Eval, k int, us []*unit) {
	if len(us) == 0 {
		return
	}
	p := &e.Params
	T, R, K, A, M := e.T, e.R, e.K, e.A, e.M
	c.all = c.all[:0]
	for ui, u := range us {
		for d, s := range u.scores {
			c.all = append(c.all, entry{score: s, unit: int32(ui), rank: int32(d)})
		}
	}
	// Score order, ties by image then by the image's own order: the order
	// of numpy's stable sort of the concatenated per-image lists.
	slices.SortFunc(c.all, func(a, b entry) int {
		if a.score != b.score {
			return cmp.Compare(b.score, a.score)
		}
		if a.unit != b.unit {
			return cmp.Compare(a.unit, b.unit)
		}
		return cmp.Compare(a.rank, b.rank)
	})
	n := len(c.all)
	for len(c.sels) < M {
		c.sels = append(c.sels, nil)
	}
	for m, maxDet := range p.MaxDets {
		sel := c.sels[m][:0]
		for i, x := range c.all {
			if int(x.rank) < maxDet {
				sel = append(sel, int32(i))
			}
		}
		c.sels[m] = sel
	}
	for a := range A {
		npig := 0
		for _, u := range us {
			npig += int(u.npig[a])
		}
		if npig == 0 {
			continue
		}
		fnpig := float64(npig)
		c.fl = resize(c.fl, T*n)
		for i, x := range c.all {
			u := us[x.unit]
			base := (a*len(u.scores) + int(x.rank)) * T
			copy(c.fl[i*T:(i+1)*T], u.flags[base:base+T])
		}
		for m := range M {
			sel := c.sels[m][:]
			nd := len(sel)
			for t := range T {
				fl := c.fl
				tp, fp := 0.0, 0.0
				c.tpAt, c.prAt = c.tpAt[:0], c.prAt[:0]
				for j, i := range sel {
					f := fl[int(i)*T+t]
					switch {
					case f&flagIgnored != 0:
					case f&flagMatched != 0:
						tp++
						c.tpAt = append(c.tpAt, int32(j))
						c.prAt = append(c.prAt, tp/(fp+tp+eps))
					default:
						fp++
					}
				}
				ri := ((t*K+k)*A+a)*M + m
				if nd > 0 {
					e.Recall[ri] = tp / fnpig
				} else {
					e.Recall[ri] = 0
				}
				// Precision envelope: the best precision at any higher recall.
				pr := c.prAt
				for i := len(pr) - 2; i >= 0; i-- {
					if pr[i+1] > pr[i] {
						pr[i] = pr[i+1]
					}
				}
				for r, thr := range p.RecThrs {
					// numpy.searchsorted(rc, thr, side="left"): index 0 for
					// thr <= 0 (rc >= 0), else the true positive whose
					// recall first reaches thr.
					pi, q := 0, 0.0
					if thr > 0 {
						kk := sort.Search(len(pr), func(x int) bool { return float64(x+1)/fnpig >= thr })
						if kk == len(pr) {
							pi = nd
						} else {
							pi, q = int(c.tpAt[kk]), pr[kk]
						}
					} else if len(pr) > 0 {
						q = pr[0]
					}
					idx := (((t*R+r)*K+k)*A+a)*M + m
					if pi >= nd {
						// pycocotools stops at the first unreachable point;
						// the rest keep precision and score 0.
						for r2 := r; r2 < R; r2++ {
							idx := (((t*R+r2)*K+k)*A+a)*M + m
							e.Precision[idx] = 0
							e.Scores[idx] = 0
						}
						break
					}
					e.Precision[idx] = q
					e.Scores[idx] = c.all[sel[pi]].score
				}
			}
		}
	}
}

func filled(n int, v float64) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = v
	}
	return s
}
