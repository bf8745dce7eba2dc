// Package run owns one training run on disk: it lays out the run directory
// (config.yaml, DRY_RUN marker, log.jsonl, metrics.jsonl, TensorBoard
// events, checkpoints/), resumes from the newest good checkpoint, and
// assembles the loop with its standard hooks (non-finite guard,
// validation, COCO evaluation, metrics, TensorBoard, checkpoints, progress
// line). Both the real runner and the dry run's stand-in model go through
// it.
package run
