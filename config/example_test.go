package config_test

import (
	"fmt"

	"github.com/graftrain/graftrain/config"
)

// Overrides layer over the embedded defaults; the config says where each
// value came from.
func ExampleLoad() {
	cfg, err := config.Load(config.Sources{
		Environ: []string{"GRAFTRAIN_TRAIN_SEED=7"},
		Sets:    []string{"stages.0.lr_multipliers.rpn=0.2", "model.rpn_anchor_scales=[16,32,64,128,256]"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cfg.Train.Seed, cfg.Source("train.seed"))
	fmt.Println(cfg.Stages[0].LRMultipliers["rpn"], cfg.Source("stages.0.lr_multipliers.rpn"))
	fmt.Println(cfg.Model.RPNAnchorScales, cfg.Source("model.rpn_anchor_scales"))
	fmt.Println(config.ExpandLayers(cfg.Stages[0].Layers, cfg.Groups))
	// Output:
	// 7 env GRAFTRAIN_TRAIN_SEED
	// 0.2 --set stages.0.lr_multipliers.rpn=0.2
	// [16 32 64 128 256] --set model.rpn_anchor_scales=[16,32,64,128,256]
	// [rpn fpn mrcnn_class mrcnn_bbox mrcnn_mask]
}

// A bad config lists every problem with its key, source and fix.
func ExampleLoad_errors() {
	_, err := config.Load(config.Sources{
		Environ: []string{},
		Sets:    []string{"train.max_step=10", "stages.0.learning_rate=-1"},
	})
	for _, fe := range config.FieldErrors(err) {
		fmt.Println(fe)
	}
	// Output:
	// train.max_step (--set train.max_step=10): unknown key; did you mean train.max_steps?
	// stages.0.learning_rate (--set stages.0.learning_rate=-1): negative learning rate -1; use a learning rate >= 0 (e.g. 0.001)
}
