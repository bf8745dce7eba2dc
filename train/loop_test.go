package train_test

import (
	"context"
	"errors"
	"math"
	"regexp"
	"testing"

	"github.com/graftrain/graftrain/data/batch"
	"github.com/graftrain/graftrain/train"
	"github.com/graftrain/graftrain/train/schedule"
	"github.com/graftrain/graftrain/train/standin"
)

var groupRE = []struct{ name, re string }{
	{"conv1", `^(conv1|bn_conv1)/`}, {"res2", `^(res2|bn2)[a-z]`}, {"res3", `^(res3|bn3)[a-z]`},
	{"res4", `^(res4|bn4)[a-z]`}, {"res5", `^(res5|bn5)[a-z]`}, {"fpn", `^fpn_`}, {"rpn", `^rpn_`},
	{"mrcnn_class", `^mrcnn_class_`}, {"mrcnn_bbox", `^mrcnn_bbox_`}, {"mrcnn_mask", `^mrcnn_mask`},
}

// fixture is a stand-in model on the sample manifest with a synthetic split.
type fixture struct {
	model *standin.Model
	store *standin.MemStore
	plan  *train.Plan
	data  *standin.Data
}

func vector(groupOf []int, groups []string, by map[string]float32, trainable []bool) []float32 {
	v := make([]float32, len(groupOf))
	for i, g := range groupOf {
		if trainable[i] {
			v[i] = by[groups[g]]
		}
	}
	return v
}

func newFixture(t *testing.T, nan func(int64) bool, stages ...train.Stage) *fixture {
	t.Helper()
	man := standin.SampleManifest()
	store := &standin.MemStore{}
	m, err := standin.New(man, standin.Options{Seed: 3, Store: store, InjectNaN: nan})
	if err != nil {
		t.Fatal(err)
	}
	p := &train.Plan{StepsPerEpoch: 4}
	trainable := make([]bool, len(man.Variables))
	for _, g := range groupRE {
		p.Groups = append(p.Groups, g.name)
	}
	for i, v := range man.Variables {
		trainable[i] = v.Trainable
		p.GroupOf = append(p.GroupOf, -1)
		for j, g := range groupRE {
			if regexp.MustCompile(g.re).MatchString(v.Path) {
				p.GroupOf[i] = j
				break
			}
		}
	}
	heads := map[string]float32{"fpn": 1, "rpn": 1, "mrcnn_class": 1, "mrcnn_bbox": 1, "mrcnn_mask": 1}
	all := map[string]float32{"conv1": 0.1, "res2": 0.1, "res3": 0.1, "res4": 0.1, "res5": 0.1, "fpn": 1, "rpn": 0.2, "mrcnn_class": 1, "mrcnn_bbox": 1, "mrcnn_mask": 1}
	if len(stages) == 0 {
		stages = []train.Stage{
			{Name: "heads", Steps: 3, Schedule: schedule.Schedule{Kind: schedule.Constant, Base: 0.01}},
			{Name: "all", Steps: 4, Schedule: schedule.Schedule{Kind: schedule.Cosine, Base: 0.004, Steps: 4, Warmup: 2}},
		}
	}
	for i := range stages {
		by := heads
		if stages[i].Name == "all" {
			by = all
		}
		stages[i].Multipliers = vector(p.GroupOf, p.Groups, by, trainable)
		stages[i].LossWeights = [5]float32{1, 1, 1, 1, 1}
		stages[i].Optional = map[string]float32{train.OptMomentum: 0.9}
	}
	p.Stages = stages
	d := batch.Dims{Size: 2, Height: 64, Width: 64, NumClasses: 4, Anchors: 50, RPNTrainAnchors: 8, MaxGTInstances: 4, MaskHeight: 4, MaskWidth: 4}
	return &fixture{model: m, store: store, plan: p, data: &standin.Data{Dims: d, N: 5, Seed: 11, Fill: true}}
}

func (f *fixture) loop() *train.Loop {
	return &train.Loop{Runner: f.model, Plan: f.plan, Train: f.data}
}

type record struct {
	stage int
	lr    float32
	info  train.StepInfo
}

func recorder(out *[]record, stages *[]int64) train.Hook {
	return train.Hook{
		Name: "recorder", Priority: 100,
		OnStageStart: func(ctx context.Context, l *train.Loop, s int) error {
			*stages = append(*stages, l.State.Step)
			return nil
		},
		OnStep: func(ctx context.Context, l *train.Loop, info *train.StepInfo) error {
			*out = append(*out, record{info.StageIndex, info.Params.LearningRate, *info})
			return nil
		},
	}
}

func TestStagesAndSchedules(t *testing.T) {
	f := newFixture(t, nil)
	l := f.loop()
	var recs []record
	var starts []int64
	l.AddHook(recorder(&recs, &starts))
	// Weights of a backbone variable (frozen in heads, trains in all).
	before := f.model.Weights(0)
	var afterHeads []float32
	l.AddHook(train.Hook{Name: "snap", Priority: 101, OnStep: func(ctx context.Context, l *train.Loop, info *train.StepInfo) error {
		if info.Step == 3 {
			afterHeads = f.model.Weights(0)
		}
		return nil
	}})
	if err := l.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(recs) != 7 {
		t.Fatalf("%d steps, want 7", len(recs))
	}
	// Independent expectations: heads at 0.01 constant; all: warm-up 2 steps
	// (0.002, 0.004) then cosine over 2 steps (0.004, 0).
	wantStage := []int{0, 0, 0, 1, 1, 1, 1}
	wantLR := []float32{0.01, 0.01, 0.01, 0.002, 0.004, 0.004, 0}
	for i, r := range recs {
		if r.stage != wantStage[i] || math.Abs(float64(r.lr-wantLR[i])) > 1e-9 {
			t.Errorf("step %d: stage %d lr %v, want stage %d lr %v", i+1, r.stage, r.lr, wantStage[i], wantLR[i])
		}
		if r.info.Step != int64(i+1) {
			t.Errorf("step %d reported as %d", i+1, r.info.Step)
		}
	}
	if len(starts) != 2 || starts[0] != 0 || starts[1] != 3 {
		t.Errorf("stage starts at steps %v, want [0 3]", starts)
	}
	// Epochs of 4 steps: steps 1-4 epoch 0, 5-7 epoch 1; step 4 ends one.
	if recs[3].info.Epoch != 0 || !recs[3].info.EpochEnd || recs[4].info.Epoch != 1 || recs[4].info.EpochEnd {
		t.Errorf("epoch bookkeeping: step 4 %d/%v, step 5 %d/%v", recs[3].info.Epoch, recs[3].info.EpochEnd, recs[4].info.Epoch, recs[4].info.EpochEnd)
	}
	// 5 batches per data epoch: 7 steps end at data epoch 1, index 2.
	if l.State.Data.Epoch != 1 || l.State.Data.Index != 2 {
		t.Errorf("data position %+v, want epoch 1 index 2", l.State.Data)
	}
	for i := range before {
		if before[i] != afterHeads[i] {
			t.Fatalf("conv1 moved during the heads stage")
		}
	}
	moved := false
	for i, w := range f.model.Weights(0) {
		moved = moved || w != afterHeads[i]
	}
	if !moved {
		t.Error("conv1 did not move during the all stage")
	}
	// Data matters: different batches give different losses.
	if recs[0].info.Result.Losses == recs[1].info.Result.Losses {
		t.Error("two steps with the same losses")
	}
}

func TestMaxSteps(t *testing.T) {
	f := newFixture(t, nil)
	l := f.loop()
	l.MaxSteps = 5
	var recs []record
	var starts []int64
	l.AddHook(recorder(&recs, &starts))
	if err := l.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(recs) != 5 || !recs[4].info.Last || recs[3].info.Last {
		t.Fatalf("%d steps (last flag on step 5: %v)", len(recs), len(recs) == 5 && recs[4].info.Last)
	}
}

func TestHookErrorWrappedWithName(t *testing.T) {
	f := newFixture(t, nil)
	l := f.loop()
	boom := errors.New("boom")
	ended := false
	l.AddHook(train.Hook{Name: "exploder", OnStep: train.EverySteps(2, func(ctx context.Context, l *train.Loop, info *train.StepInfo) error {
		return boom
	})})
	l.AddHook(train.Hook{Name: "ender", OnEnd: func(ctx context.Context, l *train.Loop, err error) error {
		ended = errors.Is(err, boom)
		return nil
	}})
	err := l.Run(context.Background())
	var he *train.HookError
	if !errors.As(err, &he) || he.Hook != "exploder" || he.Phase != "step" || !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom wrapped by hook exploder", err)
	}
	if l.State.Step != 2 || !ended {
		t.Errorf("stopped at step %d (OnEnd saw the error: %v), want step 2", l.State.Step, ended)
	}
}

func TestHookPriorityOrder(t *testing.T) {
	f := newFixture(t, nil)
	l := f.loop()
	l.MaxSteps = 1
	var order []string
	for _, h := range []struct {
		n string
		p int
	}{{"c", 30}, {"a", 10}, {"b", 20}, {"a2", 10}} {
		l.AddHook(train.Hook{Name: h.n, Priority: h.p, OnStep: func(ctx context.Context, l *train.Loop, info *train.StepInfo) error {
			order = append(order, h.n)
			return nil
		}})
	}
	if err := l.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := order; len(got) != 4 || got[0] != "a" || got[1] != "a2" || got[2] != "b" || got[3] != "c" {
		t.Errorf("order %v, want [a a2 b c]", got)
	}
}

func TestInterruptFinishesStep(t *testing.T) {
	f := newFixture(t, nil)
	l := f.loop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var endErr error
	var endStep int64
	l.AddHook(train.Hook{Name: "signal", OnStep: func(ctx context.Context, l *train.Loop, info *train.StepInfo) error {
		if info.Step == 4 {
			cancel() // a signal arriving during step 4
		}
		return nil
	}, OnEnd: func(ctx context.Context, l *train.Loop, err error) error {
		endErr, endStep = err, l.State.Step
		if ctx.Err() != nil {
			t.Error("OnEnd got a cancelled context; the final checkpoint could not be written")
		}
		return nil
	}})
	err := l.Run(ctx)
	if !errors.Is(err, train.ErrInterrupted) || !errors.Is(endErr, train.ErrInterrupted) || endStep != 4 || l.State.Step != 4 {
		t.Fatalf("err %v, OnEnd saw %v at step %d; want ErrInterrupted after step 4", err, endErr, endStep)
	}
}

func TestNonFiniteRestoresAndCounts(t *testing.T) {
	// Step calls 3 and 5 produce NaN.
	f := newFixture(t, func(c int64) bool { return c == 3 || c == 5 })
	l := f.loop()
	ctx := context.Background()
	restores := 0
	var ckptWeights []float32
	l.AddHook(train.Hook{Name: "ckpt", Priority: train.PriorityCheckpoint, OnStart: func(ctx context.Context, l *train.Loop) error {
		ckptWeights = f.model.Weights(len(f.plan.GroupOf) - 1)
		return f.model.Save(ctx, "last")
	}})
	l.AddHook(train.NonFiniteGuard(func(ctx context.Context) (string, error) {
		restores++
		return "last", f.model.Restore(ctx, "last")
	}, 2))
	var recs []record
	var starts []int64
	l.AddHook(recorder(&recs, &starts))
	if err := l.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if restores != 2 || l.State.NonFiniteTotal != 2 || l.State.NonFiniteRun != 0 {
		t.Fatalf("restores %d, total %d, run %d; want 2, 2, 0", restores, l.State.NonFiniteTotal, l.State.NonFiniteRun)
	}
	for i, r := range recs {
		if r.info.NonFinite != (i == 2 || i == 4) {
			t.Errorf("step %d non-finite = %v", i+1, r.info.NonFinite)
		}
	}
	// The NaN did not survive: every later step is finite.
	if !(recs[5].info.Result.TotalLoss < 1e30) || !(recs[6].info.Result.TotalLoss < 1e30) {
		t.Errorf("losses after restore: %v %v", recs[5].info.Result.TotalLoss, recs[6].info.Result.TotalLoss)
	}
	_ = ckptWeights
}

func TestNonFiniteStopsAfterMax(t *testing.T) {
	f := newFixture(t, func(c int64) bool { return c >= 2 })
	l := f.loop()
	ctx := context.Background()
	if err := f.model.Save(ctx, "last"); err != nil {
		t.Fatal(err)
	}
	good := f.model.Weights(len(f.plan.GroupOf) - 1)
	l.AddHook(train.NonFiniteGuard(func(ctx context.Context) (string, error) {
		return "last", f.model.Restore(ctx, "last")
	}, 3))
	err := l.Run(ctx)
	var nf *train.NonFiniteError
	if !errors.As(err, &nf) || nf.Steps != 3 || nf.LastStep != 4 || len(nf.ImageIDs) != 2 {
		t.Fatalf("err = %v; want a NonFiniteError after 3 steps at step 4 with 2 image ids", err)
	}
	for i, w := range f.model.Weights(len(f.plan.GroupOf) - 1) {
		if w != good[i] {
			t.Fatal("the model is not back at the last good checkpoint")
		}
	}
}

func TestValidationAtEpochEnd(t *testing.T) {
	f := newFixture(t, nil)
	l := f.loop()
	val := &standin.Data{Dims: f.data.Dims, N: 3, Seed: 99}
	l.AddHook(train.Validation(val, 99, 0, 2))
	var vals []*train.EvalSummary
	l.AddHook(train.Hook{Name: "seen", Priority: 50, OnStep: func(ctx context.Context, l *train.Loop, info *train.StepInfo) error {
		if info.Val != nil {
			vals = append(vals, info.Val)
		}
		return nil
	}})
	if err := l.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Epoch end at step 4 and the last step 7.
	if len(vals) != 2 || vals[0].Step != 4 || vals[1].Step != 7 || vals[0].Batches != 2 {
		t.Fatalf("validations %+v", vals)
	}
	// The mean matches the losses of the two batches computed directly.
	it, _ := val.Open(context.Background(), train.DataPosition{})
	var want float64
	for range 2 {
		b, _ := it.Next(context.Background())
		r, _ := f.model.Eval(context.Background(), b, [5]float32{1, 1, 1, 1, 1})
		want += float64(r.TotalLoss) / 2
	}
	if math.Abs(vals[1].TotalLoss-want) > 1e-6*want {
		t.Errorf("val total %v, want %v", vals[1].TotalLoss, want)
	}
}

func TestNonFiniteSkippedByModelGuard(t *testing.T) {
	// A model with its own guard (update_skipped) is not restored.
	man := standin.SampleManifest()
	f := newFixture(t, nil)
	m, err := standin.New(man, standin.Options{Seed: 3, SkipNonFinite: true, InjectNaN: func(c int64) bool { return c == 2 }})
	if err != nil {
		t.Fatal(err)
	}
	f.model = m
	l := f.loop()
	l.MaxSteps = 3
	var before []float32
	var stepAfter int64
	l.AddHook(train.Hook{Name: "snap", Priority: -1, OnStep: func(ctx context.Context, l *train.Loop, info *train.StepInfo) error {
		if info.Step == 1 {
			before = m.Weights(len(f.plan.GroupOf) - 1)
		}
		if info.Step == 2 {
			stepAfter = info.Result.Step
			for i, w := range m.Weights(len(f.plan.GroupOf) - 1) {
				if w != before[i] {
					t.Error("the skipped step changed a variable")
					break
				}
			}
		}
		return nil
	}})
	l.AddHook(train.NonFiniteGuard(func(ctx context.Context) (string, error) {
		t.Error("restore called although the model skipped the update")
		return "", nil
	}, 3))
	if err := l.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if l.State.NonFiniteTotal != 1 || stepAfter != 1 {
		t.Errorf("non-finite total %d, model step after the skipped step %d; want 1 and 1", l.State.NonFiniteTotal, stepAfter)
	}
}
