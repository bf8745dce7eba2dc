package eval

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/graftrain/graftrain/internal/fixtures"
)

// referenceAccumulate is COCOeval.accumulate transcribed literally (full
// cumulative tp/fp arrays, stable sort of the concatenated scores,
// searchsorted with an early stop), to check the faster accumulate
// against.
func referenceAccumulate(p Params, units [][]unit) (prec, rec, scores []float64) {
	T, R, A, M := len(p.IoUThrs), len(p.RecThrs), len(p.AreaRanges), len(p.MaxDets)
	K := 1
	if p.UseCats {
		K = len(p.CatIDs)
	}
	prec, rec, scores = filled(T*R*K*A*M, -1), filled(T*K*A*M, -1), filled(T*R*K*A*M, -1)
	for k := range K {
		var E []*unit
		for i := range units {
			for x := range units[i] {
				if int(units[i][x].k) == k {
					E = append(E, &units[i][x])
				}
			}
		}
		if len(E) == 0 {
			continue
		}
		for a := range A {
			for m, maxDet := range p.MaxDets {
				type col struct {
					score float64
					flags []uint8 // [T]
				}
				var cols []col
				npig := 0
				for _, u := range E {
					D := len(u.scores)
					for d := 0; d < min(D, maxDet); d++ {
						cols = append(cols, col{u.scores[d], u.flags[(a*D+d)*T : (a*D+d+1)*T]})
					}
					npig += int(u.npig[a])
				}
				slices.SortStableFunc(cols, func(x, y col) int {
					switch {
					case -x.score < -y.score:
						return -1
					case -x.score > -y.score:
						return 1
					}
					return 0
				})
				if npig == 0 {
					continue
				}
				nd := len(cols)
				for t := range T {
					tp, fp := make([]float64, nd), make([]float64, nd)
					var ctp, cfp float64
					for i, c := range cols {
						f := c.flags[t]
						if f&flagIgnored == 0 && f&flagMatched != 0 {
							ctp++
						}
						if f&flagIgnored == 0 && f&flagMatched == 0 {
							cfp++
						}
						tp[i], fp[i] = ctp, cfp
					}
					rc, pr := make([]float64, nd), make([]float64, nd)
					for i := range nd {
						rc[i] = tp[i] / float64(npig)
						pr[i] = tp[i] / (fp[i] + tp[i] + eps)
					}
					ri := ((t*K+k)*A+a)*M + m
					if nd > 0 {
						rec[ri] = rc[nd-1]
					} else {
						rec[ri] = 0
					}
					for i := nd - 1; i > 0; i-- {
						if pr[i] > pr[i-1] {
							pr[i-1] = pr[i]
						}
					}
					q, ss := make([]float64, R), make([]float64, R)
					for r, thr := range p.RecThrs {
						pi := sort.SearchFloat64s(rc, thr)
						if pi >= nd {
							break
						}
						q[r], ss[r] = pr[pi], cols[pi].score
					}
					for r := range R {
						idx := (((t*R+r)*K+k)*A+a)*M + m
						prec[idx], scores[idx] = q[r], ss[r]
					}
				}
			}
		}
	}
	return prec, rec, scores
}

func checkAgainstReference(t *testing.T, name string, gt *GroundTruth, dt []Detection, p Params) {
	t.Helper()
	e, err := Evaluate(context.Background(), gt, dt, p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ev := &evaluator{p: normalise(p, gt), gt: gt, dt: dt}
	jobs, err := ev.prepare()
	if err != nil {
		t.Fatal(err)
	}
	units, err := ev.run(context.Background(), jobs, Options{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	prec, rec, scores := referenceAccumulate(ev.p, units)
	for what, pair := range map[string][2][]float64{"precision": {prec, e.Precision}, "recall": {rec, e.Recall}, "scores": {scores, e.Scores}} {
		for i := range pair[0] {
			if math.Float64bits(pair[0][i]) != math.Float64bits(pair[1][i]) {
				t.Fatalf("%s: %s[%d] = %v, reference %v", name, what, i, pair[1][i], pair[0][i])
			}
		}
	}
}

func TestAccumulateMatchesReference(t *testing.T) {
	// Random scenes with coarse scores (many ties), crowds, every area
	// range, and more than 100 detections in some images.
	rng := rand.New(rand.NewPCG(1, 2))
	gt := &GroundTruth{Categories: []Category{{1, "a"}, {2, "b"}, {3, "c"}}}
	var dt []Detection
	for img := int64(1); img <= 40; img++ {
		gt.Images = append(gt.Images, Image{ID: img, Height: 300, Width: 300})
		box := func() [4]float64 {
			s := 5 + rng.Float64()*150
			return [4]float64{rng.Float64() * 150, rng.Float64() * 150, s, s * (0.5 + rng.Float64())}
		}
		var objs [][4]float64
		for range rng.IntN(6) {
			b := box()
			objs = append(objs, b)
			gt.Annotations = append(gt.Annotations, Object{
				ID: int64(len(gt.Annotations) + 1), ImageID: img, CategoryID: int64(1 + rng.IntN(3)),
				BBox: b, Area: b[2] * b[3], IsCrowd: rng.IntN(8) == 0,
			})
		}
		for range rng.IntN(130) {
			b := box()
			if len(objs) > 0 && rng.IntN(2) == 0 {
				b = objs[rng.IntN(len(objs))]
				b[0] += rng.Float64() * 10
				b[2] *= 0.8 + rng.Float64()*0.4
			}
			dt = append(dt, Detection{ID: int64(len(dt) + 1), ImageID: img, CategoryID: int64(1 + rng.IntN(3)),
				BBox: b, Score: float64(rng.IntN(10)) / 10, Area: b[2] * b[3]})
		}
	}
	for _, useCats := range []bool{true, false} {
		p := DefaultParams(BBox)
		p.UseCats = useCats
		checkAgainstReference(t, "random", gt, dt, p)
	}

	dir := fixtures.Path(t, "coco_val2014_100")
	fgt, err := LoadGroundTruth(context.Background(), filepath.Join(dir, "instances_val2014_100.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range []IoUType{BBox, Segm} {
		fdt, err := LoadResults(filepath.Join(dir, resultFiles[typ]), fgt)
		if err != nil {
			t.Fatal(err)
		}
		checkAgainstReference(t, string(typ), fgt, fdt, DefaultParams(typ))
	}
}
