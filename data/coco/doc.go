// Package coco owns COCO instance annotation files: a streaming reader of
// the JSON (images, annotations with polygon, uncompressed RLE or
// compressed RLE segmentations, categories) with located errors, and
// Dataset, the training view of a file that follows matterport's Mask
// R-CNN COCO loader: contiguous class ids with an optional class-name
// filter, crowd instances as negative class ids, empty instances dropped,
// images without any non-crowd instance skipped, image files confined to
// the dataset root, and the full-size instance masks of load_mask.
package coco
