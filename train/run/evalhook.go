package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/rs/zerolog"

	"github.com/graftrain/graftrain/config"
	"github.com/graftrain/graftrain/data/anchors"
	"github.com/graftrain/graftrain/data/batch"
	"github.com/graftrain/graftrain/eval"
	"github.com/graftrain/graftrain/eval/unmold"
	"github.com/graftrain/graftrain/train"
)

// PriorityCOCOEval runs the COCO evaluation after validation and before
// the hooks that record its numbers (metrics, TensorBoard, checkpoints).
const PriorityCOCOEval = train.PriorityValidation + 5

// statNames name eval.Stats' twelve numbers in metrics rows, TensorBoard
// tags (eval/...) and checkpoint metrics, after the IoU type: bbox_ap,
// segm_ar100, ...
var statNames = [12]string{
	"ap", "ap50", "ap75", "ap_small", "ap_medium", "ap_large",
	"ar1", "ar10", "ar100", "ar_small", "ar_medium", "ar_large",
}

// cocoEval measures COCO box and mask AP of the model during training:
// Runner.Predict over the validation split's batches, unmolded to the
// original images by eval/unmold, evaluated by eval against the split's
// annotation file.
type cocoEval struct {
	every     int64 // 0: at each epoch end
	maxImages int   // 0: the whole split
	seed      int64
	val       *loaderData
	cache     *anchors.Cache
	gt        *eval.GroundTruth
	classes   []int64 // COCO category id of each class id (index 0: background)
}

// newCOCOEval sets up the evaluation for cfg's eval settings, or returns
// nil when there is none to do: eval.every_steps is negative, data.val
// names no annotation file, or val is not read by the data loader
// (synthetic batches have no ground truth to score).
func newCOCOEval(ctx context.Context, cfg *config.Config, val train.Dataset, log zerolog.Logger) (*cocoEval, error) {
	if cfg.Eval.EverySteps < 0 || cfg.Data.Val.Annotations == "" {
		return nil, nil
	}
	if cfg.Eval.MaxImages < 0 {
		return nil, fmt.Errorf("eval.max_images is %d: use 0 (the whole validation split) or more", cfg.Eval.MaxImages)
	}
	ld, ok := val.(*loaderData)
	if !ok || ld.coco == nil || ld.opts.Cache == nil {
		log.Warn().Msg("COCO evaluation skipped: the validation split is not read from data.val's annotation file")
		return nil, nil
	}
	gt, err := eval.LoadGroundTruth(ctx, cfg.Data.Val.Annotations)
	if err != nil {
		return nil, fmt.Errorf("data.val (COCO evaluation): %w", err)
	}
	e := &cocoEval{
		every: cfg.Eval.EverySteps, maxImages: cfg.Eval.MaxImages, seed: cfg.Train.Seed,
		val: ld, cache: ld.opts.Cache, gt: gt,
	}
	e.classes = make([]int64, len(ld.coco.Classes))
	for i, c := range ld.coco.Classes {
		e.classes[i] = c.CategoryID
	}
	return e, nil
}

// due says whether the evaluation runs after step info: every n steps (at
// each epoch end when n is 0) and on the run's last step.
func (e *cocoEval) due(info *train.StepInfo) bool {
	return info.Last || (e.every > 0 && info.Step%e.every == 0) || (e.every == 0 && info.EpochEnd)
}

func (e *cocoEval) hook() train.Hook {
	return train.Hook{
		Name:     "coco_eval",
		Priority: PriorityCOCOEval,
		OnStep: func(ctx context.Context, l *train.Loop, info *train.StepInfo) error {
			// A discarded step leaves the model at a restored checkpoint;
			// a cancelled run is stopping.
			if !e.due(info) || info.NonFinite || ctx.Err() != nil {
				return nil
			}
			s, _, err := e.run(context.WithoutCancel(ctx), l.Runner)
			if err != nil {
				return fmt.Errorf("COCO evaluation at step %d: %w", info.Step, err)
			}
			s.Step = info.Step
			info.COCO = s
			l.Log.Info().Int64("step", info.Step).
				Float64("bbox_ap", s.Stats["bbox_ap"]).Float64("bbox_ap50", s.Stats["bbox_ap50"]).
				Float64("segm_ap", s.Stats["segm_ap"]).Float64("segm_ap50", s.Stats["segm_ap50"]).
				Int("images", s.Images).Int("detections", s.Detections).Dur("took", s.Duration).
				Msg("COCO evaluation")
			return nil
		},
	}
}

// pass is what one evaluation saw: the detections and the images they
// were made on, in the order predicted.
type pass struct {
	dets   []eval.Detection
	images []int64
}

// run predicts on the first maxImages images of the validation split (in
// file order, one pass, no augmentation), unmolds the detections and
// evaluates bbox and segm over exactly those images and the model's
// categories.
func (e *cocoEval) run(ctx context.Context, r train.Runner) (*train.COCOSummary, *pass, error) {
	t0 := time.Now()
	ps, err := e.predict(ctx, r)
	if err != nil {
		return nil, nil, err
	}
	s := &train.COCOSummary{Stats: make(map[string]float64, 24), Images: len(ps.images), Detections: len(ps.dets)}
	for _, typ := range []eval.IoUType{eval.BBox, eval.Segm} {
		ev, err := eval.Evaluate(ctx, e.gt, ps.dets, e.params(typ, ps.images), eval.Options{})
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", typ, err)
		}
		for i, v := range ev.Stats() {
			s.Stats[string(typ)+"_"+statNames[i]] = v
		}
	}
	s.Duration = time.Since(t0)
	return s, ps, nil
}

// params are pycocotools' defaults restricted to the evaluated images and
// to the categories the model has classes for.
func (e *cocoEval) params(typ eval.IoUType, images []int64) eval.Params {
	p := eval.DefaultParams(typ)
	p.ImgIDs = append([]int64(nil), images...)
	p.CatIDs = append([]int64(nil), e.classes[1:]...)
	return p
}

func (e *cocoEval) predict(ctx context.Context, r train.Runner) (*pass, error) {
	it, err := e.val.Open(ctx, train.DataPosition{Seed: e.seed})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	col := unmold.Collector{CategoryOf: unmold.ClassCategories(e.classes)}
	ps := &pass{}
	for e.maxImages <= 0 || len(ps.images) < e.maxImages {
		b, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		err = func() error {
			if rel, ok := it.(train.Releaser); ok {
				defer rel.Release(b)
			}
			n := realImages(b)
			if e.maxImages > 0 {
				n = min(n, e.maxImages-len(ps.images))
			}
			set, err := e.cache.Get(b.Height, b.Width)
			if err != nil {
				return err
			}
			p, err := r.Predict(ctx, b, set.Normalized())
			if err != nil {
				return fmt.Errorf("predict on images %v: %w", b.ImageIDs[:n], err)
			}
			// Unmold only the images kept: the slots of a final partial
			// batch are zero and have no image meta.
			kept := *b
			kept.Size = n
			if err := col.Add(p, &kept, n); err != nil {
				return fmt.Errorf("images %v: %w", b.ImageIDs[:n], err)
			}
			ps.images = append(ps.images, b.ImageIDs[:n]...)
			return nil
		}()
		if err != nil {
			return nil, err
		}
	}
	if len(ps.images) == 0 {
		return nil, errors.New("the validation split has no images to evaluate")
	}
	ps.dets = col.Detections()
	return ps, nil
}

// realImages counts the leading slots of b that hold an image: the data
// loader pads a final partial batch with zeroed slots, whose image meta
// has no original size.
func realImages(b *batch.Batch) int {
	ml := b.MetaLength()
	n := 0
	for n < b.Size && (n+1)*ml <= len(b.ImageMeta) && b.ImageMeta[n*ml+1] > 0 {
		n++
	}
	return n
}
