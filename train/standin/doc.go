// Package standin owns the pure-Go stand-in model: a small differentiable
// model whose variables are laid out like a SavedModel's variables manifest
// (same names, order, groups, BatchNorm flags; each tensor scaled down),
// with five losses that are real functions of the variables and of the
// batch, analytic gradients and SGD with momentum exactly as the graftrain
// contract's train_step defines it. It implements train.Runner for the
// dry run and for the loop's tests, and saves real TensorFlow checkpoints.
package standin
