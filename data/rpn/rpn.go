// Package rpn owns the RPN training targets of matterport's Mask R-CNN
// (build_rpn_targets): which anchors are positive, negative or neutral and
// the box deltas of the positives. The IoU of every anchor against every
// box is the data pipeline's hot loop; a Builder visits only the anchors of
// each pyramid level whose grid cells can overlap a box and reuses its
// buffers across images.
package rpn

import (
	"cmp"
	"errors"
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/graftrain/graftrain/data/anchors"
)

// Thresholds of matterport's build_rpn_targets.
const (
	PositiveIoU = 0.7   // anchors at or above are positive
	NegativeIoU = 0.3   // anchors below (and clear of crowds) are negative
	CrowdIoU    = 0.001 // anchors at or above against a crowd are never negative
)

// ErrNoBoxes reports an image without any non-crowd box; matterport's
// generator skips such images.
var ErrNoBoxes = errors.New("rpn: no non-crowd ground truth box")

// Config is the target geometry: RPN_TRAIN_ANCHORS_PER_IMAGE and
// RPN_BBOX_STD_DEV.
type Config struct {
	TrainAnchors int
	StdDev       [4]float64
}

// Builder computes RPN targets. It keeps buffers between calls and is not
// safe for concurrent use: give each worker its own.
type Builder struct {
	cfg       Config
	anchorMax []float64
	low       []levelRank
	ranks     []int32
	chosen    map[int32]struct{}
	set       *anchors.Set
	crowd     []bool
	ids       []int32
	gtMax     []float64
	boxes     []anchors.Box
}

// NewBuilder returns a Builder for cfg.
func NewBuilder(cfg Config) (*Builder, error) {
	if cfg.TrainAnchors < 1 {
		return nil, fmt.Errorf("rpn: model.rpn_train_anchors_per_image is %d, want >= 1", cfg.TrainAnchors)
	}
	for i, s := range cfg.StdDev {
		if !(s > 0) {
			return nil, fmt.Errorf("rpn: model.rpn_bbox_std_dev[%d] is %v, want > 0", i, s)
		}
	}
	return &Builder{cfg: cfg}, nil
}

// Stats describe one image's targets.
type Stats struct {
	Positive, Negative int
	// MatchedPositive counts positives that exist only because they are a
	// box's best anchor (IoU below PositiveIoU).
	MatchedPositive int
}

// iou is matterport's compute_iou for one pair, in the same float64
// operation order: intersection = max(x2-x1, 0) * max(y2-y1, 0),
// union = box_area + anchor_area - intersection.
func iou(g anchors.Box, gArea float64, a anchors.Box, aArea float64) float64 {
	y1 := math.Max(g[0], a[0])
	y2 := math.Min(g[2], a[2])
	x1 := math.Max(g[1], a[1])
	x2 := math.Min(g[3], a[3])
	inter := math.Max(x2-x1, 0) * math.Max(y2-y1, 0)
	if inter == 0 {
		return 0
	}
	return inter / (gArea + aArea - inter)
}

func area(b anchors.Box) float64 { return (b[2] - b[0]) * (b[3] - b[1]) }

// span returns the index range [lo, hi) of grid positions k (centre k*step)
// whose anchors, half size half, can intersect [b1, b2].
func span(b1, b2, half, step float64, n int) (int, int) {
	lo := int(math.Floor((b1-half)/step)) - 1
	hi := int(math.Ceil((b2+half)/step)) + 2
	return max(lo, 0), min(hi, n)
}

// window returns the grid rows [r0, r1) and columns [c0, c1) of level lv
// whose anchors can intersect b; anchors outside have IoU exactly 0 with b.
func window(lv *anchors.Level, b anchors.Box) (r0, r1, c0, c1 int) {
	r0, r1 = span(b[0], b[2], lv.MaxHalfH, lv.Step, lv.Rows)
	c0, c1 = span(b[1], b[3], lv.MaxHalfW, lv.Step, lv.Cols)
	return
}

// levelBound is an upper bound of the IoU between b (area ga) and any
// anchor of lv: intersection <= the smaller area, union >= the larger.
func levelBound(lv *anchors.Level, ga float64) float64 {
	best := 0.0
	for k := range lv.HalfH {
		aa := (2 * lv.HalfH[k]) * (2 * lv.HalfW[k])
		best = max(best, min(aa, ga)/max(aa, ga))
	}
	return best
}

// Build writes the targets of one image into match ([A], 1 positive, -1
// negative, 0 neutral) and bbox ([TrainAnchors*4], the positives' deltas in
// anchor order divided by the std dev, zero after them). classIDs are the
// instances' class ids (negative for crowds) and boxes their y1 x1 y2 x2
// pixel boxes. rng draws the subsampling; the same rng state gives the same
// targets.
//
// The rules are matterport's: anchors below NegativeIoU against every box
// and clear of crowds are negative; every anchor tied for a box's best IoU
// is positive (even when that best is 0); anchors at or above PositiveIoU
// are positive; positives beyond half of TrainAnchors and negatives beyond
// the rest are reset to neutral at random; a positive's deltas are against
// the box it overlaps most (first such box on ties).
func (b *Builder) Build(set *anchors.Set, classIDs []int32, boxes []anchors.Box, rng *rand.Rand, match []int32, bbox []float32) (Stats, error) {
	A := set.Len()
	if len(match) != A {
		return Stats{}, fmt.Errorf("rpn: match holds %d anchors, want %d", len(match), A)
	}
	if len(bbox) != 4*b.cfg.TrainAnchors {
		return Stats{}, fmt.Errorf("rpn: bbox holds %d values, want %d", len(bbox), 4*b.cfg.TrainAnchors)
	}
	if len(classIDs) != len(boxes) {
		return Stats{}, fmt.Errorf("rpn: %d class ids for %d boxes", len(classIDs), len(boxes))
	}
	b.anchorMax = grow(b.anchorMax, A)
	b.crowd = grow(b.crowd, A)
	clear(b.anchorMax)
	clear(b.crowd)
	gts := b.boxes[:0]
	for i, id := range classIDs {
		if id > 0 {
			gts = append(gts, boxes[i])
		}
	}
	b.boxes = gts
	if len(gts) == 0 {
		return Stats{}, ErrNoBoxes
	}
	abox := set.Boxes

	// Crowds only keep anchors from being negative.
	for i, id := range classIDs {
		if id < 0 {
			b.markCrowd(set, boxes[i])
		}
	}

	// Per anchor: the best IoU, exact wherever it decides a label (< 0.3,
	// >= 0.7); per box: its exact best IoU over all anchors.
	b.gtMax = grow(b.gtMax, len(gts))
	b.set = set
	for j, g := range gts {
		b.gtMax[j] = b.bestOf(set, g)
	}

	for a := range match {
		if b.anchorMax[a] < NegativeIoU && !b.crowd[a] {
			match[a] = -1
		} else {
			match[a] = 0
		}
	}
	var st Stats
	for j, g := range gts {
		b.markTies(set, g, b.gtMax[j], match)
	}
	// Final labels; positives listed in anchor order, negatives counted.
	pos := b.ids[:0]
	nNeg := 0
	for a, m := range match {
		switch {
		case b.anchorMax[a] >= PositiveIoU:
			match[a] = 1
			pos = append(pos, int32(a))
		case m == 1:
			st.MatchedPositive++
			pos = append(pos, int32(a))
		case m == -1:
			nNeg++
		}
	}
	b.ids = pos

	// Subsample positives to half, then negatives to the rest.
	if keep := b.cfg.TrainAnchors / 2; len(pos) > keep {
		b.keepRandom(pos, keep, rng, match)
		pos = pos[:keep]
		slices.Sort(pos)
	}
	if keep := b.cfg.TrainAnchors - len(pos); nNeg > keep {
		// Keep keep of the nNeg negatives, chosen uniformly by rank.
		ranks := b.chooseRanks(nNeg, keep, rng)
		r, next := 0, 0
		for a, m := range match {
			if m != -1 {
				continue
			}
			if next < len(ranks) && ranks[next] == int32(r) {
				next++
			} else {
				match[a] = 0
			}
			r++
		}
		nNeg = keep
	}
	st.Negative = nNeg
	st.Positive = len(pos)
	if st.MatchedPositive > st.Positive {
		st.MatchedPositive = st.Positive
	}

	clear(bbox)
	for ix, a := range pos {
		g := gts[argmax(gts, abox[a])]
		an := abox[a]
		gh := g[2] - g[0]
		gw := g[3] - g[1]
		gcy := g[0] + 0.5*gh
		gcx := g[1] + 0.5*gw
		ah := an[2] - an[0]
		aw := an[3] - an[1]
		acy := an[0] + 0.5*ah
		acx := an[1] + 0.5*aw
		d := [4]float64{(gcy - acy) / ah, (gcx - acx) / aw, math.Log(gh / ah), math.Log(gw / aw)}
		for k := range d {
			bbox[4*ix+k] = float32(d[k] / b.cfg.StdDev[k])
		}
	}
	return st, nil
}

// chooseRanks draws k distinct ranks out of n uniformly (Floyd's
// algorithm: k draws, no list of n) and returns them ascending.
func (b *Builder) chooseRanks(n, k int, rng *rand.Rand) []int32 {
	if b.chosen == nil {
		b.chosen = map[int32]struct{}{}
	}
	clear(b.chosen)
	ranks := b.ranks[:0]
	for j := n - k; j < n; j++ {
		t := int32(rng.IntN(j + 1))
		if _, dup := b.chosen[t]; dup {
			t = int32(j)
		}
		b.chosen[t] = struct{}{}
		ranks = append(ranks, t)
	}
	slices.Sort(ranks)
	b.ranks = ranks
	return ranks
}

// keepRandom keeps keep of ids uniformly at random (a partial Fisher–Yates
// shuffle moves them to the front) and sets the others' match to 0.
func (b *Builder) keepRandom(ids []int32, keep int, rng *rand.Rand, match []int32) {
	for i := 0; i < keep; i++ {
		j := i + rng.IntN(len(ids)-i)
		ids[i], ids[j] = ids[j], ids[i]
	}
	for _, a := range ids[keep:] {
		match[a] = 0
	}
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// boundSlack covers the last-bit difference between a level's nominal
// anchor area and the area computed from an anchor's corners.
const boundSlack = 1 + 1e-9

// bestOf folds g's IoU into anchorMax and returns g's best IoU over all
// anchors. Every level whose IoU bound reaches NegativeIoU is visited (its
// IoUs can decide labels); the others only while their bound reaches the
// best found so far, visited in descending bound order, since below that
// they can neither tie nor beat it.
func (b *Builder) bestOf(set *anchors.Set, g anchors.Box) float64 {
	ga := area(g)
	best := 0.0
	low := b.low[:0]
	for li := range set.Levels {
		lv := &set.Levels[li]
		bound := levelBound(lv, ga) * boundSlack
		if bound >= NegativeIoU {
			best = max(best, b.foldLevel(lv, g, ga))
		} else {
			low = append(low, levelRank{li, bound})
		}
	}
	slices.SortFunc(low, func(x, y levelRank) int { return cmp.Compare(y.bound, x.bound) })
	for _, l := range low {
		if l.bound < best {
			break
		}
		best = max(best, b.foldLevel(&set.Levels[l.level], g, ga))
	}
	b.low = low
	return best
}

type levelRank struct {
	level int
	bound float64
}

func (b *Builder) foldLevel(lv *anchors.Level, g anchors.Box, ga float64) float64 {
	best := 0.0
	boxes := b.set.Boxes
	for i := range near(lv, g) {
		a := boxes[i]
		v := iou(g, ga, a, area(a))
		if v > b.anchorMax[i] {
			b.anchorMax[i] = v
		}
		if v > best {
			best = v
		}
	}
	return best
}

// near yields the indices of lv's anchors inside window(lv, g): the only
// ones of the level whose IoU with g can be above 0.
func near(lv *anchors.Level, g anchors.Box) iter.Seq[int] {
	return func(yield func(int) bool) {
		r0, r1, c0, c1 := window(lv, g)
		nr := len(lv.HalfH)
		for r := r0; r < r1; r++ {
			for c := c0; c < c1; c++ {
				i := lv.Offset + (r*lv.Cols+c)*nr
				for k := range nr {
					if !yield(i + k) {
						return
					}
				}
			}
		}
	}
}

// markTies sets every anchor whose IoU with g equals g's best to positive.
func (b *Builder) markTies(set *anchors.Set, g anchors.Box, best float64, match []int32) {
	ga := area(g)
	if best == 0 {
		// matterport's overlaps == max rule: every anchor with IoU 0 wins.
		for a, an := range set.Boxes {
			if iou(g, ga, an, area(an)) == 0 {
				match[a] = 1
			}
		}
		return
	}
	for li := range set.Levels {
		lv := &set.Levels[li]
		if levelBound(lv, ga)*boundSlack < best {
			continue
		}
		for i := range near(lv, g) {
			if an := set.Boxes[i]; iou(g, ga, an, area(an)) == best {
				match[i] = 1
			}
		}
	}
}

// markCrowd flags anchors whose IoU with the crowd box g reaches CrowdIoU.
func (b *Builder) markCrowd(set *anchors.Set, g anchors.Box) {
	ga := area(g)
	for li := range set.Levels {
		lv := &set.Levels[li]
		if levelBound(lv, ga)*boundSlack < CrowdIoU {
			continue
		}
		for i := range near(lv, g) {
			if an := set.Boxes[i]; !b.crowd[i] && iou(g, ga, an, area(an)) >= CrowdIoU {
				b.crowd[i] = true
			}
		}
	}
}

// argmax is np.argmax of one anchor's IoU row: the first box with the
// largest IoU (0 when all are 0).
func argmax(gts []anchors.Box, an anchors.Box) int {
	aa := area(an)
	best, arg := 0.0, 0
	for j, g := range gts {
		if v := iou(g, area(g), an, aa); v > best {
			best, arg = v, j
		}
	}
	return arg
}

// BestIoU returns the largest IoU between b and any anchor of set (0 when
// none overlaps), visiting levels in descending order of their IoU bound
// and stopping once no level can beat the best found.
func BestIoU(set *anchors.Set, b anchors.Box) float64 {
	ga := area(b)
	ranks := make([]levelRank, len(set.Levels))
	for li := range set.Levels {
		ranks[li] = levelRank{li, levelBound(&set.Levels[li], ga) * boundSlack}
	}
	slices.SortFunc(ranks, func(x, y levelRank) int { return cmp.Compare(y.bound, x.bound) })
	best := 0.0
	for _, r := range ranks {
		if r.bound <= best {
			break
		}
		lv := &set.Levels[r.level]
		r0, r1, c0, c1 := window(lv, b)
		nr := len(lv.HalfH)
		for row := r0; row < r1; row++ {
			for c := c0; c < c1; c++ {
				i := lv.Offset + (row*lv.Cols+c)*nr
				for k := 0; k < nr; k++ {
					an := set.Boxes[i+k]
					best = max(best, iou(b, ga, an, area(an)))
				}
			}
		}
	}
	return best
}
