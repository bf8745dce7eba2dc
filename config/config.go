// Package config owns graftrain's typed configuration: the embedded
// defaults (defaults.yaml, which doubles as the reference), the layering of
// file, environment, flags and --set overrides through viper, and the
// validation that names the offending key and where it came from.
package config

import _ "embed"

// DefaultsYAML is the embedded reference configuration.
//
//go:embed defaults.yaml
var DefaultsYAML []byte

// Config is graftrain's whole configuration. Keys are the lower-case snake
// case names of the mapstructure tags.
type Config struct {
	Run        Run               `mapstructure:"run"`
	Log        Log               `mapstructure:"log"`
	Model      Model             `mapstructure:"model"`
	Device     Device            `mapstructure:"device"`
	Optimizer  Optimizer         `mapstructure:"optimizer"`
	Train      Train             `mapstructure:"train"`
	Groups     map[string]string `mapstructure:"groups"`
	Stages     []Stage           `mapstructure:"stages"`
	Checkpoint Checkpoint        `mapstructure:"checkpoint"`
	Data       Data              `mapstructure:"data"`
	Eval       Eval              `mapstructure:"eval"`
	Diagnose   Diagnose          `mapstructure:"diagnose"`

	// sources records the layer each key came from (set by Load).
	sources sourceMap
}

// Source returns the layer a key's value came from (its nearest ancestor's
// when the key itself has none recorded), e.g. c.Source("train.seed").
func (c *Config) Source(key string) Source { return c.sources.lookup(key) }

// Sources returns a copy of the source of every key Load recorded.
func (c *Config) Sources() map[string]Source {
	out := make(map[string]Source, len(c.sources))
	for k, s := range c.sources {
		out[k] = s
	}
	return out
}

type Run struct {
	Dir string `mapstructure:"dir"`
}

type Log struct {
	Level  string `mapstructure:"level"`
	Format string `mapstructure:"format"`
}

// Model names the SavedModel (or a variables manifest) and carries
// matterport's geometry settings, which a model's contract asset overrides.
type Model struct {
	Dir                     string    `mapstructure:"dir"`
	Tags                    []string  `mapstructure:"tags"`
	Variables               string    `mapstructure:"variables"`
	NumClasses              int       `mapstructure:"num_classes"`
	BatchSize               int       `mapstructure:"batch_size"`
	ImageMinDim             int       `mapstructure:"image_min_dim"`
	ImageMaxDim             int       `mapstructure:"image_max_dim"`
	ImageResizeMode         string    `mapstructure:"image_resize_mode"`
	ImageMinScale           float64   `mapstructure:"image_min_scale"`
	RPNAnchorScales         []float64 `mapstructure:"rpn_anchor_scales"`
	RPNAnchorRatios         []float64 `mapstructure:"rpn_anchor_ratios"`
	BackboneStrides         []int     `mapstructure:"backbone_strides"`
	RPNAnchorStride         int       `mapstructure:"rpn_anchor_stride"`
	RPNTrainAnchorsPerImage int       `mapstructure:"rpn_train_anchors_per_image"`
	RPNBBoxStdDev           []float64 `mapstructure:"rpn_bbox_std_dev"`
	UseMiniMask             bool      `mapstructure:"use_mini_mask"`
	MiniMaskShape           []int     `mapstructure:"mini_mask_shape"`
	MeanPixel               []float64 `mapstructure:"mean_pixel"`
	MaxGTInstances          int       `mapstructure:"max_gt_instances"`
}

type Device struct {
	Kind           string  `mapstructure:"kind"`
	GPUs           string  `mapstructure:"gpus"`
	MemoryGrowth   bool    `mapstructure:"memory_growth"`
	MemoryFraction float64 `mapstructure:"memory_fraction"`
	IntraOpThreads int     `mapstructure:"intra_op_threads"`
	InterOpThreads int     `mapstructure:"inter_op_threads"`
	SoftPlacement  bool    `mapstructure:"soft_placement"`
	XLA            bool    `mapstructure:"xla"`
}

type Optimizer struct {
	Momentum    float64 `mapstructure:"momentum"`
	WeightDecay float64 `mapstructure:"weight_decay"`
	ClipNorm    float64 `mapstructure:"clip_norm"`
}

type Train struct {
	Seed               int64  `mapstructure:"seed"`
	MaxSteps           int64  `mapstructure:"max_steps"`
	StepsPerEpoch      int64  `mapstructure:"steps_per_epoch"`
	ValEverySteps      int64  `mapstructure:"val_every_steps"`
	ValSteps           int64  `mapstructure:"val_steps"`
	MaxNonFiniteSteps  int    `mapstructure:"max_nonfinite_steps"`
	UnmatchedVariables string `mapstructure:"unmatched_variables"`
}

// Stage is one training stage. Layers is a preset name (heads, 3+, 4+, 5+,
// all) or a list of group names; a YAML string is read as a one-item list
// (ExpandLayers gives the groups). Steps, when positive, takes precedence
// over Epochs. Keys of LRMultipliers and LossWeights are lower case.
type Stage struct {
	Name               string             `mapstructure:"name"`
	Layers             []string           `mapstructure:"layers"`
	Epochs             int                `mapstructure:"epochs"`
	Steps              int64              `mapstructure:"steps"`
	LearningRate       float64            `mapstructure:"learning_rate"`
	LRSchedule         string             `mapstructure:"lr_schedule"`
	LRDecaySteps       int64              `mapstructure:"lr_decay_steps"`
	LRDecayFactor      float64            `mapstructure:"lr_decay_factor"`
	WarmupSteps        int64              `mapstructure:"warmup_steps"`
	LRMultipliers      map[string]float64 `mapstructure:"lr_multipliers"`
	LossWeights        map[string]float64 `mapstructure:"loss_weights"`
	RPNMinProposalSize float64            `mapstructure:"rpn_min_proposal_size"`
	TrainBN            bool               `mapstructure:"train_bn"`
}

type Checkpoint struct {
	EverySteps int64  `mapstructure:"every_steps"`
	KeepLast   int    `mapstructure:"keep_last"`
	KeepBest   int    `mapstructure:"keep_best"`
	BestMetric string `mapstructure:"best_metric"`
	BestMode   string `mapstructure:"best_mode"`
}

type Split struct {
	Annotations string `mapstructure:"annotations"`
	Images      string `mapstructure:"images"`
}

type Data struct {
	Train          Split    `mapstructure:"train"`
	Val            Split    `mapstructure:"val"`
	Classes        []string `mapstructure:"classes"`
	Workers        int      `mapstructure:"workers"`
	Prefetch       int      `mapstructure:"prefetch"`
	Shuffle        bool     `mapstructure:"shuffle"`
	AugmentFlip    bool     `mapstructure:"augment_flip"`
	FailOnBadImage bool     `mapstructure:"fail_on_bad_image"`
}

type Eval struct {
	EverySteps int64 `mapstructure:"every_steps"`
	MaxImages  int   `mapstructure:"max_images"`
}

type Diagnose struct {
	Window    int     `mapstructure:"window"`
	OnPlateau string  `mapstructure:"on_plateau"`
	Factor    float64 `mapstructure:"factor"`
	Patience  int64   `mapstructure:"patience"`
	Cooldown  int64   `mapstructure:"cooldown"`
}
