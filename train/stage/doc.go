// Package stage owns the resolution of training stages into what the
// training step is fed: which variables train in each stage and with which
// learning-rate multiplier, the loss weights, and the variable groups that
// per-group metrics aggregate over. It is the single source of truth shared
// by `graftrain plan` and the training loop: Build turns a config and a
// variables manifest into a Plan, once, and the loop reads precomputed
// vectors from it.
//
// Rules, in short (docs/stages.md has the full text):
//   - A group is a named regex, searched (unanchored, Go RE2 syntax) in a
//     variable's path and in its Keras layer name; a variable belongs to the
//     group that matches it. A variable matched by two or more groups is an
//     error: groups must partition the variables.
//   - A stage's layers are presets (heads, 3+, 4+, 5+, all: sets of groups),
//     group names, or matterport's own layer regexes ("matterport:heads",
//     ...), matched in full against Keras layer names as matterport's
//     set_trainable does.
//   - multiplier = lr_multipliers[group] (1 when not listed) when the stage
//     selects the variable, else 0; always 0 for variables the model marks
//     non-trainable, for variables in no group, and for BatchNorm
//     parameters unless the stage sets train_bn.
package stage
