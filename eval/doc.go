// Package eval computes COCO detection metrics (box and mask average
// precision and recall) with the semantics of pycocotools' COCOeval: the same
// matching rules, crowd and ignore handling, area ranges, recall points and
// summary numbers, so that its results equal pycocotools' to the last digits.
//
// The package owns result-file loading (pycocotools' loadRes rules), the
// per-image matching (Evaluate), accumulation into precision/recall/score
// arrays and the twelve summary statistics. Mask IoU uses the run-length
// encoding of data/mask; un-molding model predictions into detections lives
// in eval/unmold so that this package does not depend on the training loop.
package eval
