// Package report writes a run's diagnosis as a self-contained HTML page:
// report/index.html beside PNG plots (gonum/plot) of the losses with the
// stage boundaries, the learning rate, per-group gradient norms and
// update-to-weight ratios, validation losses and timings, each shown with
// the findings it supports. The page opens from disk; it loads nothing
// from the network.
package report
