// Package checkpoints owns a run's checkpoints/ directory: the layout
// (ckpt-STEP.index, ckpt-STEP.data-*, ckpt-STEP.json metadata and the
// checkpoint.json pointer), crash-safe writing (files written under a
// temporary name, fsynced, renamed; the metadata written last, the pointer
// replaced atomically only after the checkpoint is complete), retention
// (keep the last N and the best K by a metric), choosing the checkpoint to
// resume from (the newest one that verifies, falling back to older ones)
// and comparing two checkpoints variable by variable. The TensorBundle
// files themselves are read and written by checkpoints/bundle.
//
// Invariant: a checkpoint is complete exactly when its ckpt-STEP.json
// exists; that file is renamed into place only after every data file is
// durable, and removed first when the checkpoint is deleted.
package checkpoints
