// Package shapes embeds graftrain's sample dataset: small images of
// squares, circles and triangles with COCO annotations, written by
// `go run ./tools/genshapes` (see README.md in this folder).
package shapes

import "embed"

// FS holds instances_train.json, instances_val.json and the images under
// train/ and val/, at the paths the annotation files name.
//
//go:embed instances_train.json instances_val.json train val
var FS embed.FS
