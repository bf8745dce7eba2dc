// Package diagnose owns the diagnosis of a training run: detectors that
// read a run's metrics.jsonl (with its config, checkpoints and data check
// summary when present) and turn what they see into ranked findings, each
// with its evidence and a concrete config change as --set overrides; the
// rolling-window monitor the training loop calls live; and the plateau
// policy (warn, reduce_lr, next_stage, stop) it applies. The HTML report
// lives in diagnose/report.
package diagnose
