//go:build !tensorflow

package main

import (
	"context"
	"errors"

	"github.com/rs/zerolog"

	"github.com/graftrain/graftrain/config"
)

// tensorflowAvailable says whether this binary can train a SavedModel.
const tensorflowAvailable = false

// errNoTensorFlow explains, in one message, how to get a build that trains.
var errNoTensorFlow = errors.New("this graftrain was built without TensorFlow, so it cannot train a SavedModel. " +
	"Use the container image (see docs/training.md), or build with `go build -tags tensorflow ./cmd/graftrain` " +
	"on a machine with libtensorflow 2.18 installed. To rehearse the run without TensorFlow, add --dry-run")

// newTFRunner opens the SavedModel of cfg.Model.Dir for training. A build
// with the tensorflow tag provides it in train_tf.go with this same
// signature:
//
//	func newTFRunner(ctx context.Context, cfg *config.Config, log zerolog.Logger) (modelRunner, error)
//
// returning a train.Runner over the train_step, eval_step and predict
// signatures that also reports the optional inputs the model declares.
func newTFRunner(ctx context.Context, cfg *config.Config, log zerolog.Logger) (modelRunner, error) {
	return nil, errNoTensorFlow
}
