package coco

import (
	"fmt"

	"github.com/graftrain/graftrain/data/mask"
)

// File is the content of a COCO instances JSON file that graftrain uses;
// other top-level keys (info, licenses) are skipped.
type File struct {
	Images      []Image
	Annotations []Annotation
	Categories  []Category
}

// Image is one entry of "images".
type Image struct {
	ID       int64  `json:"id"`
	FileName string `json:"file_name"`
	Width    int    `json:"width"`
	Height   int    `json:"height"`
}

// Category is one entry of "categories".
type Category struct {
	ID            int64  `json:"id"`
	Name          string `json:"name"`
	Supercategory string `json:"supercategory,omitempty"`
}

// Annotation is one entry of "annotations".
type Annotation struct {
	ID           int64
	ImageID      int64
	CategoryID   int64
	Segmentation Segmentation
	Area         float64
	BBox         mask.BBox // x, y, w, h
	IsCrowd      bool
}

// SegmentationKind says which of COCO's three forms a segmentation had.
type SegmentationKind uint8

const (
	// NoSegmentation: the annotation has none (absent, null or []).
	NoSegmentation SegmentationKind = iota
	// Polygons: a list of polygons [x0, y0, x1, y1, ...], the union of
	// which is the mask.
	Polygons
	// UncompressedRLE: {"counts": [run, run, ...], "size": [h, w]}.
	UncompressedRLE
	// CompressedRLE: {"counts": "string", "size": [h, w]}.
	CompressedRLE
)

func (k SegmentationKind) String() string {
	switch k {
	case NoSegmentation:
		return "none"
	case Polygons:
		return "polygons"
	case UncompressedRLE:
		return "uncompressed RLE"
	case CompressedRLE:
		return "compressed RLE"
	}
	return fmt.Sprintf("SegmentationKind(%d)", uint8(k))
}

// Segmentation is an annotation's (or a detection's) mask in any of COCO's
// forms. For the RLE forms, RLE holds the parsed counts with the size the
// JSON gave.
type Segmentation struct {
	Kind     SegmentationKind
	Polygons [][]float64
	RLE      mask.RLE
}

// ToRLE returns the mask of s for an image of h×w pixels as pycocotools'
// COCO.annToRLE does: polygons are rasterised at h×w and merged; RLE forms
// keep the size they carry (which may differ from the image's).
func (s Segmentation) ToRLE(h, w int) (mask.RLE, error) {
	switch s.Kind {
	case Polygons:
		return mask.FromPolygons(s.Polygons, h, w)
	case UncompressedRLE, CompressedRLE:
		return s.RLE, nil
	}
	return mask.RLE{}, fmt.Errorf("no segmentation")
}
