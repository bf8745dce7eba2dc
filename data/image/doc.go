// Package image owns the pixel side of matterport's Mask R-CNN input
// pipeline: decoding JPEG (libjpeg-turbo through cgo, the pixels PIL and so
// every Keras pipeline sees) and PNG into 8-bit RGB without premultiplying
// alpha; resize_image in each mode with scikit-image's bilinear zoom
// reproduced to the bit; resize_mask, extract_bboxes and minimize_mask;
// mold_image and compose_image_meta; and the horizontal flip augmentation.
//
// Without cgo (CGO_ENABLED=0) JPEG falls back to Go's image/jpeg, which is
// not bit-exact with libjpeg-turbo (a few levels off on 4:4:4 files, tens of
// levels near edges on 4:2:0 files because of chroma upsampling).
package image
