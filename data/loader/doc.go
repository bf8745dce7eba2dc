// Package loader owns the training input pipeline: it turns a dataset's
// images and instance masks into data/batch.Batch values exactly as
// matterport's load_image_gt, build_rpn_targets and data_generator do, on
// parallel workers with bounded prefetch. Order, augmentation and RPN
// sampling depend only on the seed, the epoch and the image, never on the
// worker count, and the position (epoch, index, seed) can be saved with a
// checkpoint and sought back to.
package loader
