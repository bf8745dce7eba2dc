// Package session runs a graftrain SavedModel through TensorFlow's C API
// (graft). It owns the session options built from the device config, the
// resolution of every signature tensor and of saver_def to graph outputs
// (from the MetaGraphDef read by tf/savedmodel, since graft's loader does
// not return it), and the Runner that checks a model against the training
// contract (savedmodel.Check), feeds train_step, eval_step and predict, and
// saves and restores checkpoints through saver_def.
//
// Files that call TensorFlow carry the tensorflow build tag; the options,
// tensor-name and batch-dimension code is pure Go and tested without the
// library.
package session
