package run

import (
	"context"
	"errors"
	"fmt"

	"github.com/rs/zerolog"

	"github.com/graftrain/graftrain/config"
	"github.com/graftrain/graftrain/data/anchors"
	"github.com/graftrain/graftrain/data/batch"
	"github.com/graftrain/graftrain/data/coco"
	"github.com/graftrain/graftrain/data/loader"
	"github.com/graftrain/graftrain/train"
	"github.com/graftrain/graftrain/train/standin"
)

// Dims are the batch dimensions the config implies, as the data loader
// computes them (a model's contract asset, when there is one, must agree).
// With model.num_classes 0 the class count is data.classes plus the
// background, or 2.
func Dims(cfg *config.Config) batch.Dims {
	g, err := geometry(cfg, 0)
	if err != nil {
		// An invalid geometry is reported by Datasets; give the sizes the
		// settings name.
		return batch.Dims{Size: cfg.Model.BatchSize, NumClasses: defaultClasses(cfg)}
	}
	return g.Dims()
}

// geometry is the run's geometry: the model's contract asset when
// model.dir is set (numClasses, when known, must agree with it), else the
// config's model section.
func geometry(cfg *config.Config, numClasses int) (loader.Geometry, error) {
	if cfg.Model.Dir != "" {
		return loader.ForConfig(cfg, numClasses)
	}
	if numClasses == 0 {
		// No dataset read yet: model.num_classes, when set, wins over the
		// guess from data.classes.
		return loader.FromConfig(cfg.Model, defaultClasses(cfg))
	}
	return loader.ForConfig(cfg, numClasses)
}

func defaultClasses(cfg *config.Config) int {
	if len(cfg.Data.Classes) > 0 {
		return len(cfg.Data.Classes) + 1
	}
	return 2
}

// Datasets opens the training and validation splits through the data
// loader (val is nil when data.val names no annotation file). Without
// data.train.annotations it returns synthetic batches of the configured
// shape, with a warning: enough to rehearse stages and checkpoints, not
// the data.
func Datasets(ctx context.Context, cfg *config.Config, log zerolog.Logger) (train.Dataset, train.Dataset, error) {
	if cfg.Data.Train.Annotations == "" {
		return syntheticDatasets(cfg, log)
	}
	opt := coco.Options{Classes: cfg.Data.Classes, Workers: cfg.Data.Workers}
	tr, err := coco.Load(ctx, cfg.Data.Train.Annotations, cfg.Data.Train.Images, opt)
	if err != nil {
		return nil, nil, fmt.Errorf("data.train: %w", err)
	}
	g, err := geometry(cfg, tr.NumClasses())
	if err != nil {
		return nil, nil, err
	}
	cache, err := anchors.NewCache(g.Anchors)
	if err != nil {
		return nil, nil, err
	}
	base := loader.Options{
		Geometry: g, Seed: cfg.Train.Seed, Workers: cfg.Data.Workers, Prefetch: cfg.Data.Prefetch,
		FailOnBadImage: cfg.Data.FailOnBadImage, Cache: cache, Log: log,
	}
	trOpts := base
	trOpts.Shuffle, trOpts.Augment = cfg.Data.Shuffle, cfg.Data.AugmentFlip
	trainDS := &loaderData{ds: loader.COCO(tr), opts: trOpts, log: log}
	log.Info().Str("annotations", cfg.Data.Train.Annotations).Int("images", len(tr.Samples)).Int("classes", tr.NumClasses()).
		Int64("batches_per_epoch", trainDS.Len()).Msg("training split")
	if cfg.Data.Val.Annotations == "" {
		return trainDS, nil, nil
	}
	va, err := coco.Load(ctx, cfg.Data.Val.Annotations, cfg.Data.Val.Images, opt)
	if err != nil {
		return nil, nil, fmt.Errorf("data.val: %w", err)
	}
	if va.NumClasses() != tr.NumClasses() {
		return nil, nil, fmt.Errorf("data.val has %d classes but data.train %d: give both splits the same categories (or set data.classes)", va.NumClasses(), tr.NumClasses())
	}
	vaOpts := base
	vaOpts.Epochs = 1 // one pass, in file order, no augmentation
	return trainDS, &loaderData{ds: loader.COCO(va), coco: va, opts: vaOpts, log: log}, nil
}

// loaderData is a split read by the data loader.
type loaderData struct {
	ds loader.Dataset
	// coco is the split's dataset (classes and samples), for COCO
	// evaluation of the validation split; nil for the training split.
	coco *coco.Dataset
	opts loader.Options
	log  zerolog.Logger
}

// Len is one pass over the split in batches (images the loader skips, such
// as those with only crowd regions, make real epochs a little shorter).
func (d *loaderData) Len() int64 {
	b := max(d.opts.Geometry.BatchSize, 1)
	return int64((d.ds.Len() + b - 1) / b)
}

func (d *loaderData) Open(ctx context.Context, pos train.DataPosition) (train.Batches, error) {
	o := d.opts
	o.Start = loader.Position{Epoch: pos.Epoch, Index: int(pos.Index), Seed: pos.Seed}
	l, err := loader.New(ctx, d.ds, o)
	if err != nil {
		return nil, err
	}
	return &loaderBatches{l: l, log: d.log}, nil
}

type loaderBatches struct {
	l   *loader.Loader
	log zerolog.Logger
	bad int
}

func (it *loaderBatches) Next(ctx context.Context) (*batch.Batch, error) {
	b, st, err := it.l.Next(ctx)
	if err != nil {
		return nil, err
	}
	if st.BadImages > 0 {
		it.bad += st.BadImages
		it.log.Warn().Int("bad_images", st.BadImages).Int("total_bad_images", it.bad).Msg("images skipped: they could not be read")
	}
	return b, nil
}

func (it *loaderBatches) Position() train.DataPosition {
	p := it.l.Position()
	return train.DataPosition{Epoch: p.Epoch, Index: int64(p.Index), Seed: p.Seed}
}

func (it *loaderBatches) Release(b *batch.Batch) { it.l.Recycle(b) }

func (it *loaderBatches) Close() error {
	it.l.Close()
	return nil
}

// syntheticDatasets serve deterministic random batches of the configured
// shape when no dataset is configured.
func syntheticDatasets(cfg *config.Config, log zerolog.Logger) (train.Dataset, train.Dataset, error) {
	d := Dims(cfg)
	if d.Height == 0 {
		_, err := geometry(cfg, 0)
		return nil, nil, errors.Join(errors.New("model geometry"), err)
	}
	log.Warn().Msg("data.train.annotations is empty: training on synthetic batches (the data pipeline is not exercised)")
	n := cfg.Train.StepsPerEpoch
	if n <= 0 {
		n = 10
	}
	tr := &standin.Data{Dims: d, N: n, Seed: cfg.Train.Seed, Fill: true}
	val := &standin.Data{Dims: d, N: max(cfg.Train.ValSteps, 2), Seed: cfg.Train.Seed + 1, Fill: true}
	return tr, val, nil
}
