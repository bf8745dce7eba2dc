// Package shapes generates graftrain's sample dataset (examples/shapes): small
// images of squares, circles and triangles with COCO instance annotations
// (polygons, and a few crowd regions as uncompressed and compressed RLE).
// Generation is deterministic for a seed: the committed dataset is exactly
// what Generate writes with the default configuration, and a test keeps it
// so. Each shape's pixels are painted from the same rasterised polygon its
// annotation carries, so masks and images agree pixel for pixel.
package shapes
