//go:build tensorflow

package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/rs/zerolog"

	"github.com/graftrain/graftrain/config"
	"github.com/graftrain/graftrain/tf/savedmodel"
	"github.com/graftrain/graftrain/tf/session"
	"github.com/graftrain/graftrain/train/run"
)

// tensorflowAvailable says whether this binary can train a SavedModel.
const tensorflowAvailable = true

// errNoTensorFlow is never returned by a build with TensorFlow.
var errNoTensorFlow = errors.New("this graftrain was built without TensorFlow")

// newTFRunner opens cfg.Model.Dir through TensorFlow with the device
// options of cfg.Device, checks it against the training contract (exit
// status 2 when unmet, as graftrain inspect) and returns its Runner.
func newTFRunner(ctx context.Context, cfg *config.Config, log zerolog.Logger) (modelRunner, error) {
	if cfg.Model.Dir == "" {
		return nil, errors.New("model.dir is empty: set it to the SavedModel to train (or use --dry-run)")
	}
	m, err := session.Open(ctx, cfg.Model.Dir, session.Options{Tags: cfg.Model.Tags, Device: cfg.Device, Logger: log})
	if err != nil {
		return nil, err
	}
	r, err := session.NewRunner(m)
	if err != nil {
		_ = m.Close()
		var ce *savedmodel.ContractError
		if errors.As(err, &ce) {
			return nil, &exitError{code: 2, err: err}
		}
		return nil, err
	}
	if want := run.Dims(cfg); want != r.Dims() {
		_ = r.Close()
		return nil, fmt.Errorf("the data pipeline would batch %+v but the model %s takes %+v: set model.* (batch_size, image_max_dim, num_classes, mini_mask_shape, max_gt_instances, rpn_train_anchors_per_image) to the model's %s", want, cfg.Model.Dir, r.Dims(), "assets/graftrain_contract.json")
	}
	log.Info().Str("tensorflow", session.RuntimeVersion()).Str("device", r.Model().TrainingDevice).Strs("optional_inputs", r.OptionalInputs()).Msg("model ready")
	return r, nil
}
