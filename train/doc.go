// Package train owns the staged training loop: it pulls batches, computes
// each step's learning rate, multiplier vector and loss weights from the
// plan, hands them to a Runner, and passes the results to hooks. The loop
// only runs steps; everything else attaches as a named Hook with a
// priority (OnStart, OnStageStart, OnStep, OnEnd): the non-finite guard,
// validation and the metrics.jsonl writer live here; TensorBoard,
// checkpoints and the progress line are attached by train/run, which
// assembles a whole run.
package train
