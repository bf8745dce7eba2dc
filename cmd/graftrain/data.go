package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/graftrain/graftrain/config"
	"github.com/graftrain/graftrain/data/anchors"
	"github.com/graftrain/graftrain/data/batch"
	"github.com/graftrain/graftrain/data/check"
	"github.com/graftrain/graftrain/data/coco"
	"github.com/graftrain/graftrain/data/loader"
)

func newDataCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "data",
		Short: "Check a dataset and dump the exact tensors the model gets",
	}
	cmd.AddCommand(newDataCheckCmd(a), newDataDumpCmd(a))
	return cmd
}

// dataSplit returns the annotation file and image folder of split.
func dataSplit(cfg *config.Config, split string) (config.Split, error) {
	var s config.Split
	switch split {
	case "train":
		s = cfg.Data.Train
	case "val":
		s = cfg.Data.Val
	default:
		return s, fmt.Errorf("--split %q: want train or val", split)
	}
	if s.Annotations == "" {
		return s, fmt.Errorf("no %s dataset: set data.%s.annotations (and data.%s.images) in the config", split, split, split)
	}
	return s, nil
}

type dataCheckOptions struct {
	split   string
	json    bool
	dataset string
}

func newDataCheckCmd(a *app) *cobra.Command {
	var o dataCheckOptions
	cmd := &cobra.Command{
		Use:   "check [--config C | --dataset DIR] [--split train|val] [--json]",
		Short: "Validate a COCO dataset and report what matters for Mask R-CNN training",
		Long: `check reads the split's COCO annotations and images and reports problems
(unreadable or inconsistent annotations, missing image files, boxes outside
their image, images without any non-crowd instance) and what the RPN will
see with the model geometry (model.dir's contract, else the config's model
section): object sizes against the anchor scales, the share of boxes whose
best anchor IoU is under 0.3, 0.5 and 0.7, tiny objects, instances per image
against max_gt_instances and the class balance. --dataset DIR checks a
dataset folder instead of the config's data.SPLIT (DIR/instances_SPLIT*.json
with images under DIR, or COCO's DIR/annotations/instances_SPLIT*.json with
images under DIR/SPLIT2017-style folders). The size histogram is also
written as a PNG under the run directory's report/ folder. The exit status
is 1 when problems were found.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd, a) },
	}
	cmd.Flags().StringVar(&o.split, "split", "train", "dataset split: train or val")
	cmd.Flags().BoolVar(&o.json, "json", false, "print the report as JSON")
	cmd.Flags().StringVar(&o.dataset, "dataset", "", "dataset folder to check instead of the config's data split")
	return cmd
}

func (o *dataCheckOptions) run(cmd *cobra.Command, a *app) error {
	cfg, err := a.loadConfig(cmd)
	if err != nil {
		return err
	}
	var split config.Split
	if o.dataset != "" {
		if o.split != "train" && o.split != "val" {
			return fmt.Errorf("--split %q: want train or val", o.split)
		}
		split.Annotations, split.Images, err = check.FindSplit(o.dataset, o.split)
	} else {
		split, err = dataSplit(cfg, o.split)
	}
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	opt := check.Options{Classes: cfg.Data.Classes, Geometry: func(numClasses int) (loader.Geometry, error) {
		return loader.ForConfig(cfg, numClasses)
	}}
	if bar := dataProgressBar(a.errOut); bar != nil {
		opt.Progress = func(done, total int) {
			if done == 1 {
				bar.ChangeMax(total)
			}
			_ = bar.Set(done)
		}
		defer bar.Finish()
	}
	r, err := check.Run(ctx, split.Annotations, split.Images, opt)
	if err != nil {
		return err
	}
	if len(r.Sizes) > 0 {
		dir := filepath.Join(cfg.Run.Dir, "report")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		png := filepath.Join(dir, "data_check_"+o.split+".png")
		if err := r.PlotSizes(png); err != nil {
			return fmt.Errorf("plot %s: %w", png, err)
		}
		if !o.json {
			defer fmt.Fprintf(a.out, "\nsize histogram: %s\n", png)
		}
	}
	if o.json {
		enc := json.NewEncoder(a.out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return err
		}
	} else if err := r.WriteText(a.out); err != nil {
		return err
	}
	if len(r.Problems) > 0 {
		return &exitError{1, fmt.Errorf("%s: %d problems found", split.Annotations, len(r.Problems))}
	}
	return nil
}

// dataProgressBar returns a bar on w when w is a terminal, else nil.
func dataProgressBar(w io.Writer) *progressbar.ProgressBar {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return progressbar.NewOptions(-1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("checking images"),
		progressbar.OptionShowCount(),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
}

type dataDumpOptions struct {
	split   string
	imageID int64
	out     string
	augment bool
}

func newDataDumpCmd(a *app) *cobra.Command {
	var o dataDumpOptions
	cmd := &cobra.Command{
		Use:   "dump --config C [--split train|val] --image-id ID --out DIR [--augment]",
		Short: "Write the exact tensors the model gets for one image as .npy files",
		Long: `dump prepares one image (ID is its COCO image id) exactly as the trainer
does and writes the seven train_step inputs as .npy files named after them
(input_image.npy, input_image_meta.npy, input_rpn_match.npy,
input_rpn_bbox.npy, input_gt_class_ids.npy, input_gt_boxes.npy,
input_gt_masks.npy), each with batch dimension 1, plus anchors.npy (pixel
anchors y1 x1 y2 x2) and overlay.png (the resized image with the ground
truth masks and boxes and the positive anchors in white). The random draws
(RPN sampling, and the flip with --augment) use train.seed and epoch 0.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd, a) },
	}
	f := cmd.Flags()
	f.StringVar(&o.split, "split", "train", "dataset split: train or val")
	f.Int64Var(&o.imageID, "image-id", 0, "COCO image id to dump (required)")
	f.StringVar(&o.out, "out", "", "output directory (required)")
	f.BoolVar(&o.augment, "augment", false, "apply the training augmentation (horizontal flip with probability 0.5)")
	_ = cmd.MarkFlagRequired("image-id")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

func (o *dataDumpOptions) run(cmd *cobra.Command, a *app) error {
	cfg, err := a.loadConfig(cmd)
	if err != nil {
		return err
	}
	split, err := dataSplit(cfg, o.split)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	ds, err := coco.Load(ctx, split.Annotations, split.Images, coco.Options{Classes: cfg.Data.Classes})
	if err != nil {
		return err
	}
	index := -1
	for i := range ds.Samples {
		if ds.Samples[i].ImageID == o.imageID {
			index = i
			break
		}
	}
	if index < 0 {
		return fmt.Errorf("image id %d is not a training image of %s (absent, or without any non-crowd instance of a kept class)", o.imageID, split.Annotations)
	}
	g, err := loader.ForConfig(cfg, ds.NumClasses())
	if err != nil {
		return err
	}
	g.BatchSize = 1
	prep, cache, err := newDumpPreparer(g)
	if err != nil {
		return err
	}
	ex, err := loader.COCO(ds).Example(index)
	if err != nil {
		return err
	}
	b := batch.New(g.Dims())
	st, err := prep.Prepare(ex, index, loader.Seed(cfg.Train.Seed, 0, index), o.augment, b, 0)
	if errors.Is(err, loader.ErrNoInstances) {
		return fmt.Errorf("image %d: every non-crowd instance vanishes at this model size, so training skips it", o.imageID)
	}
	if err != nil {
		return err
	}
	set, err := cache.Get(g.Dims().Height, g.Dims().Width)
	if err != nil {
		return err
	}
	files, err := loader.Dump(o.out, b, set, prep.LastRGB())
	if err != nil {
		return err
	}
	for _, f := range files {
		fmt.Fprintln(a.out, f)
	}
	fmt.Fprintf(a.out, "image %d: %d instances (%d vanished, %d over max_gt_instances), %d positive and %d negative anchors, flipped %v\n",
		o.imageID, st.Instances, st.Vanished, st.Dropped, st.RPN.Positive, st.RPN.Negative, st.Flipped)
	return nil
}

func newDumpPreparer(g loader.Geometry) (*loader.Preparer, *anchors.Cache, error) {
	cache, err := anchors.NewCache(g.Anchors)
	if err != nil {
		return nil, nil, err
	}
	p, err := loader.NewPreparer(g, cache)
	return p, cache, err
}
