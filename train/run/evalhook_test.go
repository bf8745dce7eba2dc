package run

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"testing"

	"github.com/rs/zerolog"

	"github.com/graftrain/graftrain/checkpoints"
	"github.com/graftrain/graftrain/data/anchors"
	"github.com/graftrain/graftrain/data/loader"
	"github.com/graftrain/graftrain/eval"
	"github.com/graftrain/graftrain/eval/unmold"
	"github.com/graftrain/graftrain/train"
	"github.com/graftrain/graftrain/train/metrics"
	"github.com/graftrain/graftrain/train/stage"
	"github.com/graftrain/graftrain/train/standin"
	"github.com/graftrain/graftrain/train/tensorboard"
)

// evalRows returns the eval rows of a run directory by step, checking
// that each follows its step's training row.
func evalRows(t *testing.T, dir string) map[int64]metrics.Row {
	t.Helper()
	rows, err := train.ReadRows(filepath.Join(dir, MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]metrics.Row{}
	lastTrain := int64(-1)
	for _, r := range rows {
		switch r.Kind {
		case metrics.KindTrain:
			lastTrain = r.Step
		case metrics.KindEval:
			if r.Step != lastTrain {
				t.Errorf("eval row of step %d follows the training row of step %d", r.Step, lastTrain)
			}
			out[r.Step] = r
		}
	}
	return out
}

func steps(m map[int64]metrics.Row) []int64 {
	var s []int64
	for k := range m {
		s = append(s, k)
	}
	slices.Sort(s)
	return s
}

// TestCOCOEvalSteps runs the shapes dry run (10 steps an epoch, 40 steps)
// and checks when the evaluation runs and what it records.
func TestCOCOEvalSteps(t *testing.T) {
	for _, tc := range []struct {
		every int64
		want  []int64
	}{
		{0, []int64{10, 20, 30, 40}}, // epoch ends (the last step is one)
		{15, []int64{15, 30, 40}},    // every 15 and the last step
		{-1, nil},                    // never
	} {
		dir := t.TempDir()
		o := shapesOptions(t, dir, 0)
		o.Config.Eval.EverySteps = tc.every
		if _, err := Run(context.Background(), o); err != nil {
			t.Fatal(err)
		}
		rows := evalRows(t, dir)
		if got := steps(rows); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("every_steps %d: eval rows at steps %v, want %v", tc.every, got, tc.want)
			continue
		}
		for step, r := range rows {
			if len(r.Eval) != 24 || !r.DryRun {
				t.Errorf("step %d: %d numbers (dry run %v), want 24", step, len(r.Eval), r.DryRun)
			}
			for _, typ := range []string{"bbox", "segm"} {
				for _, n := range statNames {
					v, ok := r.Eval[typ+"_"+n]
					// Area ranges without objects are -1, as pycocotools gives them.
					if !ok || v > 1 || (v < 0 && v != -1) {
						t.Errorf("step %d: %s_%s = %v (present %v)", step, typ, n, v, ok)
					}
				}
			}
			if v := r.Eval["bbox_ap50"]; v <= 0 {
				t.Errorf("step %d: bbox_ap50 = %v: the stand-in's detections match nothing", step, v)
			}
		}
		if len(tc.want) > 1 {
			first, last := rows[tc.want[0]].Eval["bbox_ap"], rows[tc.want[len(tc.want)-1]].Eval["bbox_ap"]
			if !(last > first) {
				t.Errorf("every_steps %d: bbox_ap %v at the start, %v at the end: training did not raise it", tc.every, first, last)
			}
		}
		// TensorBoard has eval/bbox_ap at exactly those steps, with the rows' values.
		files, _ := filepath.Glob(filepath.Join(dir, "events.out.tfevents.*"))
		tb := map[int64]float32{}
		for _, f := range files {
			evs, err := tensorboard.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range evs {
				for _, v := range e.GetSummary().GetValue() {
					if v.Tag == "eval/bbox_ap" {
						tb[e.Step] = v.GetSimpleValue()
					}
				}
			}
		}
		if len(tb) != len(tc.want) {
			t.Errorf("every_steps %d: eval/bbox_ap at %d steps in TensorBoard, want %d", tc.every, len(tb), len(tc.want))
		}
		for _, s := range tc.want {
			if v, ok := tb[s]; !ok || v != float32(rows[s].Eval["bbox_ap"]) {
				t.Errorf("step %d: TensorBoard eval/bbox_ap %v (%v), row %v", s, v, ok, rows[s].Eval["bbox_ap"])
			}
		}
	}
}

// directStats recomputes a run's evaluation at a checkpoint without the
// hook: the checkpoint restored into a fresh stand-in, the validation
// split read again, anchors generated, every image predicted, unmolded and
// evaluated by eval.Evaluate over the split's images.
func directStats(t *testing.T, o Options, ckptPrefix string) map[string]float64 {
	t.Helper()
	ctx := context.Background()
	cfg := o.Config
	man, err := stage.ReadManifest(cfg.Model.Variables)
	if err != nil {
		t.Fatal(err)
	}
	// The seed fixes the stand-in's loss features, which checkpoints do not hold.
	m, err := standin.New(man, standin.Options{Seed: cfg.Train.Seed, Store: standin.BundleStore{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Restore(ctx, ckptPrefix); err != nil {
		t.Fatal(err)
	}
	_, val, err := Datasets(ctx, cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	va := val.(*loaderData).coco
	g, err := loader.FromConfig(cfg.Model, va.NumClasses())
	if err != nil {
		t.Fatal(err)
	}
	it, err := val.Open(ctx, train.DataPosition{Seed: cfg.Train.Seed})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	cats := map[int]int64{}
	var catIDs []int64
	for _, c := range va.Classes[1:] {
		cats[c.ID] = c.CategoryID
		catIDs = append(catIDs, c.CategoryID)
	}
	var dets []eval.Detection
	var images []int64
	for {
		b, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		set, err := anchors.Generate(g.Anchors, b.Height, b.Width)
		if err != nil {
			t.Fatal(err)
		}
		p, err := m.Predict(ctx, b, set.Normalized())
		if err != nil {
			t.Fatal(err)
		}
		insts, err := unmold.Batch(p, b) // the shapes split fills every batch
		if err != nil {
			t.Fatal(err)
		}
		for i, id := range b.ImageIDs {
			images = append(images, id)
			dets = append(dets, unmold.Detections(id, insts[i], func(c int) (int64, bool) {
				v, ok := cats[c]
				return v, ok
			})...)
		}
	}
	for i := range dets {
		dets[i].ID = int64(i + 1)
	}
	var want []int64
	for _, s := range va.Samples {
		want = append(want, s.ImageID)
	}
	if !reflect.DeepEqual(images, want) {
		t.Fatalf("validation images %v, want the split's %v", images, want)
	}
	gt, err := eval.LoadGroundTruth(ctx, cfg.Data.Val.Annotations)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, typ := range []eval.IoUType{eval.BBox, eval.Segm} {
		p := eval.DefaultParams(typ)
		p.ImgIDs, p.CatIDs = images, catIDs
		e, err := eval.Evaluate(ctx, gt, dets, p, eval.Options{Workers: 1})
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range e.Stats() {
			out[string(typ)+"_"+statNames[i]] = v
		}
	}
	return out
}

// TestCOCOEvalMatchesDirectEvaluate checks every recorded number against
// an evaluation of the same checkpoint made without the hook, and the
// checkpoints' metrics against the rows.
func TestCOCOEvalMatchesDirectEvaluate(t *testing.T) {
	dir := t.TempDir()
	o := shapesOptions(t, dir, 0)
	o.Config.Checkpoint.EverySteps = 10
	o.Config.Checkpoint.KeepLast = 0 // keep all
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	rows := evalRows(t, dir)
	mgr, err := checkpoints.Open(filepath.Join(dir, CkptDir), checkpoints.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []int64{10, 40} {
		r, ok := rows[step]
		if !ok {
			t.Fatalf("no eval row at step %d", step)
		}
		name := checkpoints.Name(step)
		want := directStats(t, o, mgr.Prefix(name))
		if !reflect.DeepEqual(r.Eval, want) {
			t.Errorf("step %d: recorded %v\nwant %v", step, r.Eval, want)
		}
		meta, err := mgr.ReadMeta(name)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range want {
			if meta.Metrics[k] != v {
				t.Errorf("%s: metrics[%s] = %v, want %v", name, k, meta.Metrics[k], v)
			}
		}
		if meta.Metrics["eval_step"] != float64(step) {
			t.Errorf("%s: eval_step %v", name, meta.Metrics["eval_step"])
		}
	}
	if meta, _ := mgr.ReadMeta("ckpt-0"); meta.Metrics["bbox_ap"] != 0 || len(meta.Metrics) != 0 {
		t.Errorf("ckpt-0, written before any evaluation, has metrics %v", meta.Metrics)
	}
}

// TestKeepBestByBBoxAP ranks checkpoints by bbox_ap both ways: with
// keep_last 1 only the latest and the best by the recorded AP remain.
func TestKeepBestByBBoxAP(t *testing.T) {
	for _, mode := range []string{"max", "min"} {
		dir := t.TempDir()
		o := shapesOptions(t, dir, 0)
		c := &o.Config.Checkpoint
		c.EverySteps, c.KeepLast, c.KeepBest, c.BestMetric, c.BestMode = 10, 1, 1, "bbox_ap", mode
		if _, err := Run(context.Background(), o); err != nil {
			t.Fatal(err)
		}
		rows := evalRows(t, dir)
		// The expected best from the rows: checkpoints are at the eval steps.
		var best int64 = -1
		for _, s := range steps(rows) {
			v := rows[s].Eval["bbox_ap"]
			if best < 0 || (mode == "max" && v > rows[best].Eval["bbox_ap"]) || (mode == "min" && v < rows[best].Eval["bbox_ap"]) {
				best = s
			}
		}
		mgr, _ := checkpoints.Open(filepath.Join(dir, CkptDir), checkpoints.Options{})
		p, err := mgr.ReadPointer()
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Best) != 1 || p.Best[0] != checkpoints.Name(best) {
			t.Errorf("%s: best %v, want %s (bbox_ap by step: %v)", mode, p.Best, checkpoints.Name(best), apByStep(rows))
		}
		all, _ := mgr.List()
		var kept []string
		for _, m := range all {
			kept = append(kept, m.Name)
		}
		want := []string{checkpoints.Name(best), "ckpt-40"}
		if best == 40 {
			want = want[1:]
		}
		sort.Strings(kept)
		sort.Strings(want)
		if !reflect.DeepEqual(kept, want) {
			t.Errorf("%s: kept %v, want %v", mode, kept, want)
		}
	}
}

func apByStep(rows map[int64]metrics.Row) map[int64]float64 {
	out := map[int64]float64{}
	for s, r := range rows {
		out[s] = r.Eval["bbox_ap"]
	}
	return out
}

// TestCOCOEvalImages checks which images a pass predicts on: the first
// eval.max_images of the split in file order, and with a batch size that
// leaves a padded last batch, every image once.
func TestCOCOEvalImages(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		batch, max, want int
	}{
		{2, 3, 3}, // a batch and a half
		{3, 0, 8}, // the split's 8 images: three batches, the last with two images and a padded slot
		{2, 500, 8},
	} {
		o := shapesOptions(t, t.TempDir(), 0)
		o.Config.Model.BatchSize = tc.batch
		o.Config.Eval.MaxImages = tc.max
		_, val, err := Datasets(ctx, o.Config, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		e, err := newCOCOEval(ctx, o.Config, val, zerolog.Nop())
		if err != nil || e == nil {
			t.Fatalf("newCOCOEval = %v, %v", e, err)
		}
		s, ps, err := e.run(ctx, o.Runner)
		if err != nil {
			t.Fatalf("batch %d max %d: %v", tc.batch, tc.max, err)
		}
		var want []int64
		for _, smp := range val.(*loaderData).coco.Samples[:tc.want] {
			want = append(want, smp.ImageID)
		}
		if !reflect.DeepEqual(ps.images, want) || s.Images != tc.want {
			t.Errorf("batch %d max %d: images %v (%d), want %v", tc.batch, tc.max, ps.images, s.Images, want)
		}
		for _, d := range ps.dets {
			if !slices.Contains(want, d.ImageID) {
				t.Errorf("detection on image %d, which was not evaluated", d.ImageID)
			}
		}
		// The numbers are those of the images predicted only: over the
		// whole split the objects of the others would count as missed.
		for _, typ := range []eval.IoUType{eval.BBox, eval.Segm} {
			p := eval.DefaultParams(typ)
			p.ImgIDs, p.CatIDs = want, []int64{1, 2, 3}
			direct, err := eval.Evaluate(ctx, e.gt, ps.dets, p, eval.Options{Workers: 1})
			if err != nil {
				t.Fatal(err)
			}
			p.ImgIDs = nil
			whole, err := eval.Evaluate(ctx, e.gt, ps.dets, p, eval.Options{Workers: 1})
			if err != nil {
				t.Fatal(err)
			}
			got := s.Stats[string(typ)+"_ap"]
			if got != direct.Stats()[0] {
				t.Errorf("batch %d max %d: %s_ap %v, direct evaluation %v", tc.batch, tc.max, typ, got, direct.Stats()[0])
			}
			if tc.want < 8 && got == whole.Stats()[0] {
				t.Errorf("batch %d max %d: %s_ap %v equals the whole split's", tc.batch, tc.max, typ, got)
			}
		}
	}
}

func TestCOCOEvalSetup(t *testing.T) {
	ctx := context.Background()
	o := shapesOptions(t, t.TempDir(), 0)
	_, val, err := Datasets(ctx, o.Config, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	cfg := *o.Config
	cfg.Eval.MaxImages = -1
	if _, err := newCOCOEval(ctx, &cfg, val, zerolog.Nop()); err == nil {
		t.Error("eval.max_images -1 accepted")
	}
	cfg = *o.Config
	cfg.Data.Val.Annotations = ""
	if e, err := newCOCOEval(ctx, &cfg, val, zerolog.Nop()); e != nil || err != nil {
		t.Errorf("without data.val: %v, %v; want no evaluation", e, err)
	}
	cfg = *o.Config
	synthetic := &standin.Data{Dims: Dims(&cfg), N: 2}
	if e, err := newCOCOEval(ctx, &cfg, synthetic, zerolog.Nop()); e != nil || err != nil {
		t.Errorf("synthetic validation batches: %v, %v; want no evaluation", e, err)
	}
	e, err := newCOCOEval(ctx, o.Config, val, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	// The shapes classes 1..3 are categories 1..3 (square, circle, triangle).
	if !reflect.DeepEqual(e.classes, []int64{0, 1, 2, 3}) {
		t.Errorf("class to category map %v", e.classes)
	}
}
