package standin

import (
	"context"
	"math"
	"math/rand/v2"
	"regexp"
	"testing"

	"github.com/graftrain/graftrain/data/batch"
	"github.com/graftrain/graftrain/train"
)

var testGroups = []struct{ name, re string }{
	{"conv1", `^(conv1|bn_conv1)/`},
	{"res2", `^(res2|bn2)[a-z][0-9]*_`},
	{"res3", `^(res3|bn3)[a-z][0-9]*_`},
	{"res4", `^(res4|bn4)[a-z][0-9]*_`},
	{"res5", `^(res5|bn5)[a-z][0-9]*_`},
	{"fpn", `^fpn_`},
	{"rpn", `^rpn_`},
	{"mrcnn_class", `^mrcnn_class_`},
	{"mrcnn_bbox", `^mrcnn_bbox_`},
	{"mrcnn_mask", `^mrcnn_mask`},
}

// groupOf gives each sample variable its default group's name.
func groupOf(t *testing.T, m *Model) []string {
	t.Helper()
	out := make([]string, len(m.vars))
	for i, v := range m.vars {
		for _, g := range testGroups {
			if regexp.MustCompile(g.re).MatchString(v.name) {
				out[i] = g.name
				break
			}
		}
		if out[i] == "" {
			t.Fatalf("variable %s in no group", v.name)
		}
	}
	return out
}

func testBatch(seed uint64) *batch.Batch {
	d := batch.Dims{Size: 2, Height: 64, Width: 64, NumClasses: 4, Anchors: 100, RPNTrainAnchors: 16, MaxGTInstances: 5, MaskHeight: 8, MaskWidth: 8}
	b := batch.New(d)
	rng := rand.New(rand.NewPCG(seed, 7))
	for i := range b.Image {
		b.Image[i] = float32(rng.NormFloat64() * 50)
	}
	for i := range b.RPNMatch {
		b.RPNMatch[i] = int32(rng.IntN(3)) - 1
	}
	for i := range b.RPNBBox {
		b.RPNBBox[i] = float32(rng.NormFloat64())
	}
	for i := range b.GTClassIDs {
		if i%d.MaxGTInstances < 3 {
			b.GTClassIDs[i] = int32(1 + rng.IntN(3))
			y, x := rng.Float32()*32, rng.Float32()*32
			copy(b.GTBoxes[4*i:], []float32{y, x, y + 10 + rng.Float32()*20, x + 10 + rng.Float32()*20})
		}
	}
	for i := range b.GTMasks {
		b.GTMasks[i] = rng.IntN(4) == 0
	}
	return b
}

func newSample(t *testing.T) *Model {
	t.Helper()
	m, err := New(SampleManifest(), Options{Seed: 1, Store: &MemStore{}})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mults(groups []string, by map[string]float32) []float32 {
	out := make([]float32, len(groups))
	for i, g := range groups {
		out[i] = by[g]
	}
	return out
}

func ones() [5]float32 { return [5]float32{1, 1, 1, 1, 1} }

func TestFrozenGroupsBitIdentical(t *testing.T) {
	m := newSample(t)
	groups := groupOf(t, m)
	heads := map[string]float32{"fpn": 1, "rpn": 1, "mrcnn_class": 1, "mrcnn_bbox": 1, "mrcnn_mask": 1}
	before := make([][]float32, len(m.vars))
	for i := range m.vars {
		before[i] = m.Weights(i)
	}
	p := train.StepParams{LearningRate: 0.01, LRMultipliers: mults(groups, heads), LossWeights: ones(),
		Optional: map[string]float32{train.OptMomentum: 0.9, train.OptWeightDecay: 0.01, train.OptClipNorm: 5}}
	for s := range 5 {
		res, err := m.Step(context.Background(), testBatch(uint64(s)), p)
		if err != nil {
			t.Fatal(err)
		}
		for i, g := range groups {
			if heads[g] == 0 && res.VarUpdateNorms[i] != 0 {
				t.Fatalf("step %d: frozen %s reports update norm %v", s, m.vars[i].name, res.VarUpdateNorms[i])
			}
		}
	}
	moved := 0
	for i, g := range groups {
		w := m.Weights(i)
		same := true
		for j := range w {
			if math.Float32bits(w[j]) != math.Float32bits(before[i][j]) {
				same = false
			}
		}
		if heads[g] == 0 && !same {
			t.Errorf("frozen variable %s (group %s) changed", m.vars[i].name, g)
		}
		if heads[g] != 0 && !same {
			moved++
		}
		if heads[g] == 0 && m.vars[i].trainable {
			for _, v := range m.vars[i].v {
				if v != 0 {
					t.Errorf("frozen variable %s has momentum %v", m.vars[i].name, v)
					break
				}
			}
		}
	}
	if moved == 0 {
		t.Fatal("no training variable moved")
	}
}

func TestMultiplierScalesUpdates(t *testing.T) {
	// Plain SGD (momentum 0, no weight decay, no clipping), first step: the
	// update is lr·mult·grad, so two variables' update/grad ratios are in
	// the ratio of their multipliers.
	m := newSample(t)
	groups := groupOf(t, m)
	p := train.StepParams{LearningRate: 0.01, LRMultipliers: mults(groups, map[string]float32{"res4": 0.1, "fpn": 1, "mrcnn_mask": 1}), LossWeights: ones()}
	res, err := m.Step(context.Background(), testBatch(3), p)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for i, g := range groups {
		if res.VarGradNorms[i] == 0 {
			continue
		}
		want := float64(p.LearningRate) * float64(p.LRMultipliers[i]) * float64(res.VarGradNorms[i])
		got := float64(res.VarUpdateNorms[i])
		if math.Abs(got-want) > 1e-5*want+1e-9 {
			t.Errorf("%s (%s): update norm %g, want lr·mult·grad = %g", m.vars[i].name, g, got, want)
		}
		checked++
	}
	if checked < 10 {
		t.Fatalf("only %d variables with gradients", checked)
	}
	// The same step with every multiplier 1 gives res4 ten times the update.
	m2 := newSample(t)
	p2 := p
	p2.LRMultipliers = mults(groups, map[string]float32{"res4": 1, "fpn": 1, "mrcnn_mask": 1})
	res2, err := m2.Step(context.Background(), testBatch(3), p2)
	if err != nil {
		t.Fatal(err)
	}
	for i, g := range groups {
		if g != "res4" || res.VarUpdateNorms[i] == 0 {
			continue
		}
		ratio := float64(res.VarUpdateNorms[i]) / float64(res2.VarUpdateNorms[i])
		if math.Abs(ratio-0.1) > 1e-5 {
			t.Errorf("%s: update norm ratio 0.1 vs 1.0 multiplier = %v", m.vars[i].name, ratio)
		}
	}
}

func TestLossWeightsChangeTotal(t *testing.T) {
	m := newSample(t)
	groups := groupOf(t, m)
	b := testBatch(5)
	for _, lw := range [][5]float32{ones(), {0, 0, 0, 0, 0}, {2, 0, 1, 0.5, 0}} {
		r, err := m.Eval(context.Background(), b, lw)
		if err != nil {
			t.Fatal(err)
		}
		var want float64
		for k := range 5 {
			want += float64(lw[k]) * float64(r.Losses[k])
		}
		if math.Abs(float64(r.TotalLoss)-want) > 1e-6*math.Max(1, want) {
			t.Errorf("weights %v: total %v, want %v", lw, r.TotalLoss, want)
		}
	}
	// A zero weight removes that loss's gradient: a head that only feeds
	// mrcnn_mask gets no gradient when that loss weighs 0.
	p := train.StepParams{LearningRate: 0.01, LRMultipliers: mults(groups, map[string]float32{"mrcnn_mask": 1}), LossWeights: [5]float32{1, 1, 1, 1, 0}}
	res, err := m.Step(context.Background(), b, p)
	if err != nil {
		t.Fatal(err)
	}
	for i, g := range groups {
		if g == "mrcnn_mask" && res.VarGradNorms[i] != 0 {
			t.Errorf("%s: gradient %v with mrcnn_mask_loss weight 0", m.vars[i].name, res.VarGradNorms[i])
		}
	}
}

// TestGradientMatchesFiniteDifference checks the analytic gradient, weight
// decay included, against central differences of the total loss.
func TestGradientMatchesFiniteDifference(t *testing.T) {
	m := newSample(t)
	groups := groupOf(t, m)
	b := testBatch(9)
	all := mults(groups, map[string]float32{"conv1": 1, "res2": 1, "res3": 1, "res4": 1, "res5": 1, "fpn": 1, "rpn": 1, "mrcnn_class": 1, "mrcnn_bbox": 1, "mrcnn_mask": 1})
	lw := [5]float32{1, 0.5, 2, 1, 0.3}
	wd := 0.05
	total := func() float64 {
		r := m.residuals(b)
		var s float64
		for k := range 5 {
			s += float64(lw[k]) * 0.5 * r[k] * r[k]
		}
		for _, v := range m.vars {
			if v.decay {
				for _, w := range v.w {
					s += wd * float64(w) * float64(w) / float64(len(v.w))
				}
			}
		}
		return s
	}
	for _, i := range []int{0, 2, len(m.vars) - 2} {
		v := &m.vars[i]
		// Analytic gradient from a zero-LR step (nothing moves).
		p := train.StepParams{LearningRate: 0, LRMultipliers: all, LossWeights: lw, Optional: map[string]float32{train.OptWeightDecay: float32(wd)}}
		res, err := m.Step(context.Background(), b, p)
		if err != nil {
			t.Fatal(err)
		}
		var num float64
		for j := range v.w {
			old := v.w[j]
			h := float32(1e-2)
			v.w[j] = old + h
			up := total()
			v.w[j] = old - h
			down := total()
			v.w[j] = old
			d := (up - down) / (2 * float64(h))
			num += d * d
		}
		num = math.Sqrt(num)
		if got := float64(res.VarGradNorms[i]); math.Abs(got-num) > 1e-3*num+1e-6 {
			t.Errorf("%s: analytic gradient norm %g, finite difference %g", v.name, got, num)
		}
	}
}

// TestMomentumAndClipping follows one variable through two steps by hand.
func TestMomentumAndClipping(t *testing.T) {
	m := newSample(t)
	groups := groupOf(t, m)
	b := testBatch(2)
	mu := map[string]float32{"mrcnn_bbox": 1}
	p := train.StepParams{LearningRate: 0.1, LRMultipliers: mults(groups, mu), LossWeights: ones(),
		Optional: map[string]float32{train.OptMomentum: 0.9, train.OptClipNorm: 0.01}}
	i := -1
	for j, g := range groups {
		if g == "mrcnn_bbox" {
			i = j
			break
		}
	}
	w0 := m.Weights(i)
	r1, err := m.Step(context.Background(), b, p)
	if err != nil {
		t.Fatal(err)
	}
	if !(r1.GradNorm > 0.01) {
		t.Fatalf("grad norm %v does not exceed the clip norm; the test needs clipping", r1.GradNorm)
	}
	w1 := m.Weights(i)
	// Clipped to global norm 0.01: the first update's norm over all
	// training variables is lr·0.01.
	var un float64
	for _, u := range r1.VarUpdateNorms {
		un += float64(u) * float64(u)
	}
	if got, want := math.Sqrt(un), 0.1*0.01; math.Abs(got-want) > 1e-6 {
		t.Errorf("clipped update norm %g, want %g", got, want)
	}
	r2, err := m.Step(context.Background(), b, p)
	if err != nil {
		t.Fatal(err)
	}
	w2 := m.Weights(i)
	// v1 = w1-w0; v2 = 0.9·v1 - lr·g2·clip/|g2| where g2's direction is
	// the same loss features: check |w2-w1 - 0.9(w1-w0)| = lr·clip·|g2_i|/|g2|.
	var d float64
	for j := range w2 {
		e := float64(w2[j]-w1[j]) - 0.9*float64(w1[j]-w0[j])
		d += e * e
	}
	want := 0.1 * 0.01 * float64(r2.VarGradNorms[i]) / float64(r2.GradNorm)
	if math.Abs(math.Sqrt(d)-want) > 1e-4*want+1e-8 {
		t.Errorf("momentum step: fresh part of the update %g, want %g", math.Sqrt(d), want)
	}
}

func TestSaveRestoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	m := newSample(t)
	groups := groupOf(t, m)
	p := train.StepParams{LearningRate: 0.01, LRMultipliers: mults(groups, map[string]float32{"res5": 0.5, "rpn": 1, "mrcnn_class": 1}), LossWeights: ones(),
		Optional: map[string]float32{train.OptMomentum: 0.9}}
	for s := range 3 {
		if _, err := m.Step(ctx, testBatch(uint64(s)), p); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Save(ctx, "ck"); err != nil {
		t.Fatal(err)
	}
	a, _ := m.Step(ctx, testBatch(10), p)
	b, _ := m.Step(ctx, testBatch(11), p)
	// The same model definition (seed) in a different state: restore must
	// replace weights, momentum and step counter.
	m2, err := New(SampleManifest(), Options{Seed: 1, Store: m.opts.Store})
	if err != nil {
		t.Fatal(err)
	}
	for s := range 7 {
		if _, err := m2.Step(ctx, testBatch(uint64(20+s)), p); err != nil {
			t.Fatal(err)
		}
	}
	if err := m2.Restore(ctx, "ck"); err != nil {
		t.Fatal(err)
	}
	if m2.StepCount() != 3 {
		t.Fatalf("restored step %d, want 3", m2.StepCount())
	}
	a2, _ := m2.Step(ctx, testBatch(10), p)
	b2, _ := m2.Step(ctx, testBatch(11), p)
	if a.TotalLoss != a2.TotalLoss || b.TotalLoss != b2.TotalLoss || b.Step != b2.Step {
		t.Errorf("after restore: totals %v %v (step %d), want %v %v (step %d)", a2.TotalLoss, b2.TotalLoss, b2.Step, a.TotalLoss, b.TotalLoss, b.Step)
	}
	if err := m2.Restore(ctx, "missing"); err == nil {
		t.Error("restore of a missing checkpoint succeeded")
	}
}

func TestInjectNaN(t *testing.T) {
	m, err := New(SampleManifest(), Options{Seed: 1, InjectNaN: func(c int64) bool { return c == 2 }})
	if err != nil {
		t.Fatal(err)
	}
	groups := groupOf(t, m)
	p := train.StepParams{LearningRate: 0.01, LRMultipliers: mults(groups, map[string]float32{"rpn": 1}), LossWeights: ones()}
	r1, _ := m.Step(context.Background(), testBatch(1), p)
	r2, _ := m.Step(context.Background(), testBatch(1), p)
	r3, _ := m.Step(context.Background(), testBatch(1), p)
	if math.IsNaN(float64(r1.TotalLoss)) || !math.IsNaN(float64(r2.Losses[0])) || !math.IsNaN(float64(r2.TotalLoss)) {
		t.Fatalf("losses %v / %v: want finite then NaN", r1.Losses, r2.Losses)
	}
	// Like a real NaN, it poisoned the RPN variables: the next step is NaN too.
	if !math.IsNaN(float64(r3.TotalLoss)) {
		t.Errorf("step after the NaN step is finite (%v): the NaN did not reach the weights", r3.TotalLoss)
	}
}

func TestDataMatters(t *testing.T) {
	m := newSample(t)
	a, _ := m.Eval(context.Background(), testBatch(1), ones())
	b, _ := m.Eval(context.Background(), testBatch(2), ones())
	if a.TotalLoss == b.TotalLoss {
		t.Error("two different batches give the same loss")
	}
}

func TestScaleShape(t *testing.T) {
	tests := []struct {
		in   []int64
		want []int64
	}{
		{[]int64{3, 3, 256, 512}, []int64{2, 2, 2, 2}},
		{[]int64{64}, []int64{16}},
		{[]int64{2, 3}, []int64{2, 3}},
		{[]int64{}, []int64{}},
	}
	for _, tt := range tests {
		got := scaleShape(tt.in, 16)
		if numel(got) > 16 || len(got) != len(tt.want) {
			t.Errorf("scaleShape(%v) = %v", tt.in, got)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("scaleShape(%v) = %v, want %v", tt.in, got, tt.want)
				break
			}
		}
	}
}

func TestBundleStoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	m, err := New(SampleManifest(), Options{Seed: 4, Store: BundleStore{}})
	if err != nil {
		t.Fatal(err)
	}
	groups := groupOf(t, m)
	p := train.StepParams{LearningRate: 0.01, LRMultipliers: mults(groups, map[string]float32{"rpn": 1, "res3": 1}), LossWeights: ones(),
		Optional: map[string]float32{train.OptMomentum: 0.9}}
	for s := range 2 {
		if _, err := m.Step(ctx, testBatch(uint64(s)), p); err != nil {
			t.Fatal(err)
		}
	}
	prefix := dir + "/ckpt-2"
	if err := m.Save(ctx, prefix); err != nil {
		t.Fatal(err)
	}
	want, _ := m.Step(ctx, testBatch(5), p)
	m2, _ := New(SampleManifest(), Options{Seed: 4, Store: BundleStore{}})
	if err := m2.Restore(ctx, prefix); err != nil {
		t.Fatal(err)
	}
	got, _ := m2.Step(ctx, testBatch(5), p)
	if got.TotalLoss != want.TotalLoss || got.Step != 3 {
		t.Errorf("after a bundle round trip: total %v step %d, want %v step 3", got.TotalLoss, got.Step, want.TotalLoss)
	}
}
