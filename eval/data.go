package eval

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/graftrain/graftrain/data/coco"
	"github.com/graftrain/graftrain/data/mask"
)

// Image is a ground-truth image: its id and pixel size (masks of its
// objects and detections are this size).
type Image struct {
	ID            int64
	Height, Width int
}

// Category is a ground-truth category.
type Category struct {
	ID   int64
	Name string
}

// Object is a ground-truth annotation as COCOeval reads it.
type Object struct {
	ID, ImageID, CategoryID int64
	// BBox is x, y, width, height in pixels.
	BBox [4]float64
	// Area is the annotation's area field (not recomputed), which decides
	// the area range the object falls in.
	Area    float64
	IsCrowd bool
	// Segmentation is the annotation's mask in the form the file gave
	// (polygons, uncompressed or compressed RLE). Only segm evaluation
	// reads it.
	Segmentation coco.Segmentation
}

// GroundTruth is a COCO instances file, reduced to what evaluation reads.
type GroundTruth struct {
	Images      []Image
	Categories  []Category
	Annotations []Object
}

// Detection is one result after pycocotools' loadRes: ID is its 1-based
// position in the results file, IsCrowd is always false.
type Detection struct {
	ID, ImageID, CategoryID int64
	BBox                    [4]float64
	Score                   float64
	// Area is w*h of BBox for box results and the mask area for mask
	// results, as loadRes sets it.
	Area float64
	// Segmentation is the result's mask JSON (compressed RLE normally), or,
	// for box results without one, nil: the box rectangle then stands for
	// the mask, as loadRes's polygon does.
	Segmentation json.RawMessage
	// Mask, when set, is the mask itself and Segmentation is not read
	// (detections made in memory, e.g. by eval/unmold).
	Mask *mask.RLE

	// compact is Segmentation's compressed RLE as the results loader
	// found it, so that evaluation need not parse the JSON again.
	compact compactRLE
}

// compactRLE is a compressed RLE string with its size.
type compactRLE struct {
	h, w   int
	counts string
}

// LoadGroundTruth reads a COCO instances file with data/coco's reader,
// which checks it (ids, references, segmentation shapes) and locates every
// problem by file, line and column.
func LoadGroundTruth(ctx context.Context, path string) (*GroundTruth, error) {
	f, err := coco.ReadFile(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("ground truth: %w", err)
	}
	return FromCOCO(f), nil
}

// ReadGroundTruth decodes a COCO instances document from r.
func ReadGroundTruth(ctx context.Context, r io.Reader) (*GroundTruth, error) {
	f, err := coco.Read(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("ground truth: %w", err)
	}
	return FromCOCO(f), nil
}

// FromCOCO takes what evaluation reads from a decoded COCO file.
func FromCOCO(f *coco.File) *GroundTruth {
	gt := &GroundTruth{
		Images:      make([]Image, len(f.Images)),
		Categories:  make([]Category, len(f.Categories)),
		Annotations: make([]Object, len(f.Annotations)),
	}
	for i, im := range f.Images {
		gt.Images[i] = Image{ID: im.ID, Height: im.Height, Width: im.Width}
	}
	for i, c := range f.Categories {
		gt.Categories[i] = Category{ID: c.ID, Name: c.Name}
	}
	for i, a := range f.Annotations {
		gt.Annotations[i] = Object{
			ID: a.ID, ImageID: a.ImageID, CategoryID: a.CategoryID,
			BBox: a.BBox, Area: a.Area, IsCrowd: a.IsCrowd, Segmentation: a.Segmentation,
		}
	}
	return gt
}

// parseID reads an integral JSON number (1, 1.0, 1e3). Strings are rejected:
// pycocotools would not match "1" with 1.
func parseID(raw json.RawMessage) (int64, error) {
	s := string(bytes.TrimSpace(raw))
	if s == "" || s == "null" {
		return 0, fmt.Errorf("missing")
	}
	if s[0] == '"' {
		return 0, fmt.Errorf("%s is a string, want an integer", s)
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return v, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != float64(int64(f)) {
		return 0, fmt.Errorf("%s is not an integer", s)
	}
	return int64(f), nil
}

func lineCol(b []byte, off int64) (line, col int) {
	if off > int64(len(b)) {
		off = int64(len(b))
	}
	line = 1 + bytes.Count(b[:off], []byte{'\n'})
	col = int(off) - bytes.LastIndexByte(b[:off], '\n')
	return line, col
}
