package loader

import (
	"fmt"
	"path/filepath"

	"github.com/graftrain/graftrain/config"
	"github.com/graftrain/graftrain/data/anchors"
	"github.com/graftrain/graftrain/data/batch"
	"github.com/graftrain/graftrain/data/image"
	"github.com/graftrain/graftrain/data/rpn"
	"github.com/graftrain/graftrain/graphs"
)

// Geometry is everything about the model that shapes its inputs, taken
// from a model's contract asset or from the config's model section.
type Geometry struct {
	BatchSize      int
	NumClasses     int // including the background
	Resize         image.ResizeConfig
	Anchors        anchors.Config
	RPN            rpn.Config
	UseMiniMask    bool
	MiniMask       [2]int // height, width
	MeanPixel      [3]float64
	MaxGTInstances int
}

// FromConfig takes the geometry from the config's model section;
// numClasses (background included) is used when model.num_classes is 0.
func FromConfig(m config.Model, numClasses int) (Geometry, error) {
	if m.NumClasses > 0 {
		numClasses = m.NumClasses
	}
	g := Geometry{
		BatchSize:  m.BatchSize,
		NumClasses: numClasses,
		Resize:     image.ResizeConfig{MinDim: m.ImageMinDim, MaxDim: m.ImageMaxDim, MinScale: m.ImageMinScale, Mode: m.ImageResizeMode},
		Anchors: anchors.Config{Scales: m.RPNAnchorScales, Ratios: m.RPNAnchorRatios,
			Strides: m.BackboneStrides, AnchorStride: m.RPNAnchorStride},
		RPN:            rpn.Config{TrainAnchors: m.RPNTrainAnchorsPerImage},
		UseMiniMask:    m.UseMiniMask,
		MaxGTInstances: m.MaxGTInstances,
	}
	if err := fill(&g, m.RPNBBoxStdDev, m.MiniMaskShape, m.MeanPixel, "model."); err != nil {
		return Geometry{}, err
	}
	return g, g.Validate()
}

// FromContract takes the geometry from a model's contract asset, so the
// data always matches what the export baked in.
func FromContract(mc graphs.ModelConfig) (Geometry, error) {
	g := Geometry{
		BatchSize:  mc.BatchSize,
		NumClasses: mc.NumClasses,
		Resize:     image.ResizeConfig{MinDim: mc.ImageMinDim, MaxDim: mc.ImageMaxDim, MinScale: mc.ImageMinScale, Mode: mc.ImageResizeMode},
		Anchors: anchors.Config{Scales: mc.RPNAnchorScales, Ratios: mc.RPNAnchorRatios,
			Strides: mc.BackboneStrides, AnchorStride: mc.RPNAnchorStride},
		RPN:            rpn.Config{TrainAnchors: mc.RPNTrainAnchorsPerImage},
		UseMiniMask:    mc.UseMiniMask,
		MaxGTInstances: mc.MaxGTInstances,
	}
	if err := fill(&g, mc.RPNBBoxStdDev, mc.MiniMaskShape, mc.MeanPixel, "contract "); err != nil {
		return Geometry{}, err
	}
	if len(mc.ImageShape) >= 2 {
		h, w := g.Resize.OutputShape()
		if mc.ImageShape[0] != h || mc.ImageShape[1] != w {
			return Geometry{}, fmt.Errorf("loader: contract IMAGE_SHAPE %v disagrees with %s mode's %d×%d", mc.ImageShape, g.Resize.Mode, h, w)
		}
	}
	return g, g.Validate()
}

func fill(g *Geometry, std []float64, mini []int, mean []float64, where string) error {
	if len(std) != 4 {
		return fmt.Errorf("loader: %srpn_bbox_std_dev has %d values, want 4", where, len(std))
	}
	copy(g.RPN.StdDev[:], std)
	if len(mini) != 2 {
		return fmt.Errorf("loader: %smini_mask_shape has %d values, want 2", where, len(mini))
	}
	g.MiniMask = [2]int{mini[0], mini[1]}
	if len(mean) != 3 {
		return fmt.Errorf("loader: %smean_pixel has %d values, want 3", where, len(mean))
	}
	copy(g.MeanPixel[:], mean)
	return nil
}

// Validate checks the geometry as a whole.
func (g Geometry) Validate() error {
	if err := g.Resize.Validate(); err != nil {
		return err
	}
	if err := g.Anchors.Validate(); err != nil {
		return err
	}
	switch {
	case g.BatchSize < 1:
		return fmt.Errorf("loader: batch size %d, want >= 1 (model.batch_size)", g.BatchSize)
	case g.NumClasses < 2:
		return fmt.Errorf("loader: %d classes including the background, want >= 2 (model.num_classes or the dataset)", g.NumClasses)
	case g.MaxGTInstances < 1:
		return fmt.Errorf("loader: model.max_gt_instances is %d, want >= 1", g.MaxGTInstances)
	case g.RPN.TrainAnchors < 1:
		return fmt.Errorf("loader: model.rpn_train_anchors_per_image is %d, want >= 1", g.RPN.TrainAnchors)
	case g.UseMiniMask && (g.MiniMask[0] < 1 || g.MiniMask[1] < 1):
		return fmt.Errorf("loader: model.mini_mask_shape %v, want positive sides", g.MiniMask)
	}
	for i, s := range g.RPN.StdDev {
		if !(s > 0) {
			return fmt.Errorf("loader: rpn_bbox_std_dev[%d] is %v, want > 0", i, s)
		}
	}
	return nil
}

// Dims are the batch dimensions of this geometry.
func (g Geometry) Dims() batch.Dims {
	h, w := g.Resize.OutputShape()
	mh, mw := h, w
	if g.UseMiniMask {
		mh, mw = g.MiniMask[0], g.MiniMask[1]
	}
	return batch.Dims{
		Size: g.BatchSize, Height: h, Width: w, NumClasses: g.NumClasses,
		Anchors: anchors.Count(g.Anchors, h, w), RPNTrainAnchors: g.RPN.TrainAnchors,
		MaxGTInstances: g.MaxGTInstances, MaskHeight: mh, MaskWidth: mw,
	}
}

// ForConfig returns the geometry of a run: from model.dir's contract asset
// when the config names a model (so data and model cannot disagree), else
// from the config's model section with numClasses (background included)
// standing in for an unset model.num_classes.
func ForConfig(cfg *config.Config, numClasses int) (Geometry, error) {
	if cfg.Model.Dir != "" {
		p := filepath.Join(cfg.Model.Dir, "assets", graphs.AssetContract)
		a, err := graphs.ReadContractAssetFile(p)
		if err != nil {
			return Geometry{}, fmt.Errorf("model geometry: %w", err)
		}
		g, err := FromContract(a.Model)
		if err != nil {
			return Geometry{}, fmt.Errorf("model geometry from %s: %w", p, err)
		}
		if numClasses > 0 && g.NumClasses != numClasses {
			return Geometry{}, fmt.Errorf("the model has %d classes (%s), the dataset %d (background included); set data.classes to match", g.NumClasses, p, numClasses)
		}
		return g, nil
	}
	if cfg.Model.NumClasses > 0 && numClasses > 0 && cfg.Model.NumClasses != numClasses {
		return Geometry{}, fmt.Errorf("model.num_classes is %d but the dataset has %d classes (background included); set data.classes or model.num_classes to match", cfg.Model.NumClasses, numClasses)
	}
	return FromConfig(cfg.Model, numClasses)
}

// OptionsFromConfig returns the loader options of a run: geometry g, the
// seed from train.seed and the data.* switches (workers, prefetch, shuffle,
// augment_flip, fail_on_bad_image). Validation passes (split "val") should
// turn Shuffle and Augment off.
func OptionsFromConfig(cfg *config.Config, g Geometry) Options {
	return Options{
		Geometry:       g,
		Seed:           cfg.Train.Seed,
		Workers:        cfg.Data.Workers,
		Prefetch:       cfg.Data.Prefetch,
		Shuffle:        cfg.Data.Shuffle,
		Augment:        cfg.Data.AugmentFlip,
		FailOnBadImage: cfg.Data.FailOnBadImage,
	}
}
