package eval

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/graftrain/graftrain/data/mask"
)

// Options tune how Evaluate runs; they never change its results.
type Options struct {
	// Workers is the number of goroutines; <= 0 means GOMAXPROCS.
	Workers int
	// Progress, when set, is called with the number of images evaluated so
	// far and the total, from one goroutine at a time.
	Progress func(done, total int)
}

// Flags of one detection at one area range and IoU threshold.
const (
	flagMatched uint8 = 1 << iota // matched a ground truth with a non-zero id
	flagIgnored                   // matched an ignored object, or unmatched outside the area range
)

// unit is COCOeval's evalImgs entry for one image and category (or one
// image when categories are not used), for every area range at once.
type unit struct {
	img    int32     // image index in Params.ImgIDs order
	k      int32     // category index in Params.CatIDs order (0 without UseCats)
	scores []float64 // detection scores, best first, at most MaxDets[M-1]
	flags  []uint8   // [A][D][T]
	npig   []int32   // [A] objects not ignored
}

// job is the input of one unit: indices into the object and detection
// slices, in COCOeval's concatenation order.
type job struct {
	k        int32
	gts, dts []int32
}

// evaluator holds everything one evaluation shares between workers.
type evaluator struct {
	p      Params
	gt     *GroundTruth
	dt     []Detection
	images []Image // in p.ImgIDs order
}

// Eval is the result of Evaluate: COCOeval's accumulated arrays.
type Eval struct {
	Params Params
	// T, R, K, A, M are the sizes of the IoU thresholds, recall points,
	// categories (1 without UseCats), area ranges and max-detection limits.
	T, R, K, A, M int
	// Precision and Scores are [T][R][K][A][M] and Recall is [T][K][A][M],
	// flattened in that (C) order; -1 where a setting has no object.
	Precision, Recall, Scores []float64
}

// PrecisionAt returns precision[t][r][k][a][m].
func (e *Eval) PrecisionAt(t, r, k, a, m int) float64 {
	return e.Precision[(((t*e.R+r)*e.K+k)*e.A+a)*e.M+m]
}

// RecallAt returns recall[t][k][a][m].
func (e *Eval) RecallAt(t, k, a, m int) float64 {
	return e.Recall[((t*e.K+k)*e.A+a)*e.M+m]
}

// ScoreAt returns scores[t][r][k][a][m].
func (e *Eval) ScoreAt(t, r, k, a, m int) float64 {
	return e.Scores[(((t*e.R+r)*e.K+k)*e.A+a)*e.M+m]
}

// Evaluate runs COCOeval's evaluate and accumulate on gt and dt with p:
// every image and category is matched independently (in parallel), then
// the per-category precision/recall curves are built. The result does not
// depend on Options.Workers.
func Evaluate(ctx context.Context, gt *GroundTruth, dt []Detection, p Params, opt Options) (*Eval, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	for i := range dt {
		if s := dt[i].Score; math.IsNaN(s) {
			return nil, fmt.Errorf("detection %d (id %d, image %d): score is NaN", i, dt[i].ID, dt[i].ImageID)
		}
	}
	p = normalise(p, gt)
	ev := &evaluator{p: p, gt: gt, dt: dt}
	jobs, err := ev.prepare()
	if err != nil {
		return nil, err
	}
	units, err := ev.run(ctx, jobs, opt)
	if err != nil {
		return nil, err
	}
	return ev.accumulate(ctx, units, opt)
}

// normalise fills defaults and sorts and de-duplicates the id lists, as
// COCOeval does before evaluating.
func normalise(p Params, gt *GroundTruth) Params {
	if p.ImgIDs == nil {
		for _, im := range gt.Images {
			p.ImgIDs = append(p.ImgIDs, im.ID)
		}
	} else {
		p.ImgIDs = slices.Clone(p.ImgIDs)
	}
	if p.CatIDs == nil {
		for _, c := range gt.Categories {
			p.CatIDs = append(p.CatIDs, c.ID)
		}
	} else {
		p.CatIDs = slices.Clone(p.CatIDs)
	}
	slices.Sort(p.ImgIDs)
	p.ImgIDs = slices.Compact(p.ImgIDs)
	slices.Sort(p.CatIDs)
	p.CatIDs = slices.Compact(p.CatIDs)
	p.MaxDets = slices.Clone(p.MaxDets)
	slices.Sort(p.MaxDets)
	return p
}

// prepare groups objects and detections by image, then by category in
// CatIDs order keeping file order within a category, which is the order
// pycocotools' per-(image, category) lists have.
func (ev *evaluator) prepare() ([][]job, error) {
	p := ev.p
	imgIdx := make(map[int64]int32, len(p.ImgIDs))
	for i, id := range p.ImgIDs {
		imgIdx[id] = int32(i)
	}
	catIdx := make(map[int64]int32, len(p.CatIDs))
	for i, id := range p.CatIDs {
		catIdx[id] = int32(i)
	}
	ev.images = make([]Image, len(p.ImgIDs))
	found := make([]bool, len(p.ImgIDs))
	for _, im := range ev.gt.Images {
		if i, ok := imgIdx[im.ID]; ok {
			ev.images[i] = im
			found[i] = true
		}
	}
	for i, ok := range found {
		if !ok {
			return nil, fmt.Errorf("params: image id %d is not in the ground truth", p.ImgIDs[i])
		}
	}
	type ref struct{ img, cat, idx int32 }
	group := func(n int, at func(int) (int64, int64)) [][]ref {
		byImg := make([][]ref, len(p.ImgIDs))
		for i := range n {
			im, c := at(i)
			ii, ok := imgIdx[im]
			if !ok {
				continue
			}
			ci, ok := catIdx[c]
			if !ok {
				continue
			}
			byImg[ii] = append(byImg[ii], ref{ii, ci, int32(i)})
		}
		for _, l := range byImg {
			slices.SortStableFunc(l, func(a, b ref) int { return cmp.Compare(a.cat, b.cat) })
		}
		return byImg
	}
	gts := group(len(ev.gt.Annotations), func(i int) (int64, int64) {
		a := &ev.gt.Annotations[i]
		return a.ImageID, a.CategoryID
	})
	dts := group(len(ev.dt), func(i int) (int64, int64) {
		d := &ev.dt[i]
		return d.ImageID, d.CategoryID
	})
	jobs := make([][]job, len(p.ImgIDs))
	for i := range jobs {
		g, d := gts[i], dts[i]
		if !p.UseCats {
			if len(g)+len(d) == 0 {
				continue
			}
			j := job{k: 0, gts: make([]int32, len(g)), dts: make([]int32, len(d))}
			for x, r := range g {
				j.gts[x] = r.idx
			}
			for x, r := range d {
				j.dts[x] = r.idx
			}
			jobs[i] = []job{j}
			continue
		}
		// Merge the two category-sorted lists into one job per category;
		// the jobs' index lists share one array per image.
		idx := make([]int32, 0, len(g)+len(d))
		for len(g) > 0 || len(d) > 0 {
			k := int32(len(p.CatIDs))
			if len(g) > 0 {
				k = g[0].cat
			}
			if len(d) > 0 && d[0].cat < k {
				k = d[0].cat
			}
			j := job{k: k}
			start := len(idx)
			for len(g) > 0 && g[0].cat == k {
				idx = append(idx, g[0].idx)
				g = g[1:]
			}
			mid := len(idx)
			for len(d) > 0 && d[0].cat == k {
				idx = append(idx, d[0].idx)
				d = d[1:]
			}
			j.gts, j.dts = idx[start:mid:mid], idx[mid:len(idx):len(idx)]
			jobs[i] = append(jobs[i], j)
		}
	}
	return jobs, nil
}

// run evaluates every image's jobs on a pool of workers; unit order only
// depends on the input.
func (ev *evaluator) run(ctx context.Context, jobs [][]job, opt Options) ([][]unit, error) {
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	out := make([][]unit, len(jobs))
	errs := make([]error, len(jobs))
	var next, done atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := newScratch()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(jobs) || ctx.Err() != nil {
					return
				}
				for _, j := range jobs[i] {
					u, err := ev.evaluateUnit(int32(i), j, s)
					if err != nil {
						errs[i] = err
						break
					}
					out[i] = append(out[i], u)
				}
				n := int(done.Add(1))
				if opt.Progress != nil {
					mu.Lock()
					opt.Progress(n, len(jobs))
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// scratch is one worker's reusable buffers and result slabs.
type scratch struct {
	scores    slab[float64]
	flags     slab[uint8]
	npig      slab[int32]
	ious      []float64
	rows      [][]float64
	dtBoxes   []mask.BBox
	gtBoxes   []mask.BBox
	dtMasks   []mask.RLE
	gtMasks   []mask.RLE
	gtOrder   []int32
	gtIgnore  []bool
	gtMatched []bool
	crowd     []bool
	dtOrder   []int32
}

func newScratch() *scratch { return &scratch{} }

// slab hands out zeroed slices carved from large blocks, so that the
// hundreds of thousands of per-unit results cost a few allocations. Slices
// are never reused: the results keep them.
type slab[T any] struct{ buf []T }

func (s *slab[T]) take(n int) []T {
	if cap(s.buf)-len(s.buf) < n {
		s.buf = make([]T, 0, max(n, 1<<14))
	}
	l := len(s.buf)
	s.buf = s.buf[:l+n]
	return s.buf[l : l+n : l+n]
}

// evaluateUnit is COCOeval's computeIoU plus evaluateImg for every area
// range.
func (ev *evaluator) evaluateUnit(img int32, j job, s *scratch) (unit, error) {
	p := &ev.p
	T, A := len(p.IoUThrs), len(p.AreaRanges)
	maxDet := p.MaxDets[len(p.MaxDets)-1]

	// Detections best score first; stable, so ties keep file order.
	dts := append(s.dtOrder[:0], j.dts...)
	slices.SortStableFunc(dts, func(a, b int32) int {
		return cmp.Compare(ev.dt[b].Score, ev.dt[a].Score)
	})
	if len(dts) > maxDet {
		dts = dts[:maxDet]
	}
	s.dtOrder = dts
	D, G := len(dts), len(j.gts)

	u := unit{
		img:    img,
		k:      j.k,
		scores: s.scores.take(D),
		flags:  s.flags.take(A * T * D),
		npig:   s.npig.take(A),
	}
	for d, x := range dts {
		u.scores[d] = ev.dt[x].Score
	}

	s.crowd = resize(s.crowd, G)
	for g, x := range j.gts {
		s.crowd[g] = ev.gt.Annotations[x].IsCrowd
	}
	// ious[d*G+g], g in file order.
	var err error
	if err = ev.computeIoU(img, dts, j.gts, s); err != nil {
		return u, err
	}

	one, tiny := 1.0, 1e-10
	ceiling := one - tiny
	s.gtIgnore = resize(s.gtIgnore, G)
	s.gtMatched = resize(s.gtMatched, G)
	for a, rng := range p.AreaRanges {
		// Objects ignored (crowd or outside the range) go last, stably.
		order := s.gtOrder[:0]
		npig := int32(0)
		for g, x := range j.gts {
			o := &ev.gt.Annotations[x]
			if !(o.IsCrowd || o.Area < rng.Min || o.Area > rng.Max) {
				order = append(order, int32(g))
				npig++
			}
		}
		for g, x := range j.gts {
			o := &ev.gt.Annotations[x]
			if o.IsCrowd || o.Area < rng.Min || o.Area > rng.Max {
				order = append(order, int32(g))
			}
		}
		s.gtOrder = order
		u.npig[a] = npig
		for pos := range order {
			s.gtIgnore[pos] = int32(pos) >= npig
		}
		for t, thr := range p.IoUThrs {
			clear(s.gtMatched)
			// flags[d*T+t] is detection d's flag at this range and threshold.
			flags := u.flags[a*D*T:]
			for d := range D {
				// m < 0: unmatched so far; best is the IoU to beat.
				best := min(thr, ceiling)
				m := -1
				if len(s.ious) > 0 {
					row := s.ious[d*G : (d+1)*G]
					for pos, g := range order {
						if s.gtMatched[pos] && !s.crowd[g] {
							continue
						}
						if m > -1 && !s.gtIgnore[m] && s.gtIgnore[pos] {
							break
						}
						if row[g] < best {
							continue
						}
						best = row[g]
						m = pos
					}
				}
				if m == -1 {
					continue
				}
				s.gtMatched[m] = true
				var f uint8
				if ev.gt.Annotations[j.gts[order[m]]].ID != 0 {
					f |= flagMatched
				}
				if s.gtIgnore[m] {
					f |= flagIgnored
				}
				flags[d*T+t] = f
			}
			// Detections left without a match (an id of 0 counts as none)
			// outside the area range are ignored.
			for d, x := range dts {
				if flags[d*T+t]&flagMatched == 0 {
					if ar := ev.dt[x].Area; ar < rng.Min || ar > rng.Max {
						flags[d*T+t] |= flagIgnored
					}
				}
			}
		}
	}
	return u, nil
}

// computeIoU fills s.ious with the D×G IoU matrix (row per detection), or
// leaves it empty when either side is empty.
func (ev *evaluator) computeIoU(img int32, dts, gts []int32, s *scratch) error {
	D, G := len(dts), len(gts)
	if D == 0 || G == 0 {
		s.ious = s.ious[:0]
		return nil
	}
	s.ious = resize(s.ious, D*G)
	s.rows = s.rows[:0]
	for d := range D {
		s.rows = append(s.rows, s.ious[d*G:(d+1)*G])
	}
	if ev.p.Type == Segm {
		return ev.segmIoU(img, dts, gts, s.crowd, s, s.rows)
	}
	s.dtBoxes = s.dtBoxes[:0]
	for _, x := range dts {
		s.dtBoxes = append(s.dtBoxes, ev.dt[x].BBox)
	}
	s.gtBoxes = s.gtBoxes[:0]
	for _, y := range gts {
		s.gtBoxes = append(s.gtBoxes, ev.gt.Annotations[y].BBox)
	}
	mask.BBoxIoUInto(s.rows, s.dtBoxes, s.gtBoxes, s.crowd)
	return nil
}

func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	s = s[:n]
	clear(s)
	return s
}
