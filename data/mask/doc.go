// Package mask owns binary instance masks in the run-length form of the
// COCO mask API: encoding and decoding, the compressed string form, union
// and intersection, area, bounding box, IoU with crowd semantics, and the
// rasterisation of polygons and boxes. Every result is bit-exact with
// pycocotools' C implementation (common/maskApi.c), so data loading and
// evaluation agree with the Python tools to the last pixel.
//
// An RLE lists run lengths over the pixels in column-major order (down the
// first column, then the next), alternating runs of 0s and 1s and always
// starting with a (possibly empty) run of 0s. Dense masks at this package's
// boundary are row-major H×W slices, the layout the rest of graftrain uses;
// the transposition happens here.
package mask
