package eval

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/graftrain/graftrain/data/coco"
	"github.com/graftrain/graftrain/data/mask"
)

// rawRLE is a COCO RLE object: compressed counts (a string) or
// uncompressed ones (a list), and its own size [h, w].
type rawRLE struct {
	Size   []int           `json:"size"`
	Counts json.RawMessage `json:"counts"`
}

// decodeSegmentation turns a COCO segmentation into an RLE as pycocotools'
// annToRLE does: polygons are rasterised at the image's size and merged; an
// RLE object keeps its own size.
func decodeSegmentation(raw json.RawMessage, im Image) (mask.RLE, error) {
	m, _, err := parseSegmentation(raw, im)
	return m, err
}

// parseSegmentation is decodeSegmentation also returning the compressed
// form when the segmentation is a compressed RLE.
func parseSegmentation(raw json.RawMessage, im Image) (mask.RLE, compactRLE, error) {
	var c compactRLE
	m, err := parseSegm(raw, im, &c)
	return m, c, err
}

func parseSegm(raw json.RawMessage, im Image, out *compactRLE) (mask.RLE, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return mask.RLE{}, errors.New("missing")
	}
	// Compressed RLE, the usual results form, is read here to keep its
	// compact string; the other forms go through data/coco.
	if h, w, counts, ok := scanRLE(raw); ok {
		m, err := mask.FromString(counts, h, w)
		if err == nil {
			*out = compactRLE{h: h, w: w, counts: counts}
		}
		return m, err
	}
	if raw[0] == '{' {
		var r rawRLE
		if err := json.Unmarshal(raw, &r); err != nil {
			return mask.RLE{}, fmt.Errorf("RLE must be {\"size\": [h, w], \"counts\": ...}: %w", err)
		}
		if c := bytes.TrimSpace(r.Counts); len(c) > 0 && c[0] == '"' {
			if len(r.Size) != 2 {
				return mask.RLE{}, fmt.Errorf("RLE size has %d numbers, want [height, width]", len(r.Size))
			}
			var s string
			if err := json.Unmarshal(c, &s); err != nil {
				return mask.RLE{}, fmt.Errorf("RLE counts: %w", err)
			}
			m, err := mask.FromString(s, r.Size[0], r.Size[1])
			if err == nil {
				*out = compactRLE{h: r.Size[0], w: r.Size[1], counts: s}
			}
			return m, err
		}
	}
	var s coco.Segmentation
	if err := s.UnmarshalJSON(raw); err != nil {
		return mask.RLE{}, err
	}
	if err := s.Validate(); err != nil {
		return mask.RLE{}, err
	}
	return s.ToRLE(im.Height, im.Width)
}

// detectionMask is the mask of detection d: its segmentation, or for box
// results without one the box rasterised as loadRes's rectangle polygon.
func detectionMask(d *Detection, im Image) (mask.RLE, error) {
	if d.Mask != nil {
		return *d.Mask, nil
	}
	if d.compact.counts != "" {
		return mask.FromString(d.compact.counts, d.compact.h, d.compact.w)
	}
	if d.Segmentation == nil {
		b := d.BBox
		x1, x2, y1, y2 := b[0], b[0]+b[2], b[1], b[1]+b[3]
		return mask.FromPolygon([]float64{x1, y1, x1, y2, x2, y2, x2, y1}, im.Height, im.Width)
	}
	return decodeSegmentation(d.Segmentation, im)
}

// segmIoU fills rows with mask IoUs of the unit's detections and objects.
func (ev *evaluator) segmIoU(img int32, dts, gts []int32, crowd []bool, s *scratch, rows [][]float64) error {
	im := ev.images[img]
	s.dtMasks = s.dtMasks[:0]
	for _, x := range dts {
		m, err := detectionMask(&ev.dt[x], im)
		if err != nil {
			return fmt.Errorf("detection %d (image %d): segmentation: %w", ev.dt[x].ID, im.ID, err)
		}
		s.dtMasks = append(s.dtMasks, m)
	}
	s.gtMasks = s.gtMasks[:0]
	for _, y := range gts {
		o := &ev.gt.Annotations[y]
		m, err := o.Segmentation.ToRLE(im.Height, im.Width)
		if err != nil {
			return fmt.Errorf("ground truth annotation %d (image %d): segmentation: %w", o.ID, im.ID, err)
		}
		s.gtMasks = append(s.gtMasks, m)
	}
	mask.IoUInto(rows, s.dtMasks, s.gtMasks, crowd)
	return nil
}
