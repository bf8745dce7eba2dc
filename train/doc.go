// Package train owns the staged training loop: it pulls batches, computes
// each step's learning rate, multiplier vector and loss weights from the
// stage plan, hands them to a Runner, and passes the results to hooks
// (metrics, TensorBoard, checkpoints, evaluation, live diagnosis).
package train
