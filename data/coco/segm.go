package coco

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/graftrain/graftrain/data/mask"
)

// rleJSON is the object form of a segmentation.
type rleJSON struct {
	Counts json.RawMessage `json:"counts"`
	Size   []int           `json:"size"`
}

// UnmarshalJSON reads any of COCO's segmentation forms: a list of polygons,
// {"counts": [...], "size": [h, w]} or {"counts": "...", "size": [h, w]}.
// null and [] read as NoSegmentation. RLE counts are parsed and checked
// against the size; polygon shapes are checked by Validate.
func (s *Segmentation) UnmarshalJSON(b []byte) error {
	*s = Segmentation{}
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	switch b[0] {
	case '[':
		polys, err := parsePolygons(b)
		if err != nil {
			return fmt.Errorf("%w: segmentation: a list must hold polygons [x0, y0, x1, y1, ...]: %v", ErrPolygon, err)
		}
		if len(polys) > 0 {
			s.Kind, s.Polygons = Polygons, polys
		}
		return nil
	case '{':
		var r rleJSON
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("%w: segmentation: %v", ErrRLE, err)
		}
		if len(r.Size) != 2 || r.Size[0] < 0 || r.Size[1] < 0 {
			return fmt.Errorf("%w: segmentation size must be [height, width], got %v", ErrRLE, r.Size)
		}
		h, w := r.Size[0], r.Size[1]
		c := bytes.TrimSpace(r.Counts)
		if len(c) == 0 {
			return fmt.Errorf("%w: segmentation has no counts", ErrRLE)
		}
		switch c[0] {
		case '"':
			var str string
			if err := json.Unmarshal(c, &str); err != nil {
				return fmt.Errorf("%w: counts: %v", ErrRLE, err)
			}
			rle, err := mask.FromString(str, h, w)
			if err != nil {
				return fmt.Errorf("%w: counts: %w", ErrRLE, err)
			}
			s.Kind, s.RLE = CompressedRLE, rle
		case '[':
			var counts []uint32
			if err := json.Unmarshal(c, &counts); err != nil {
				return fmt.Errorf("%w: counts must be non-negative integers: %v", ErrRLE, err)
			}
			rle, err := mask.FromCounts(counts, h, w)
			if err != nil {
				return fmt.Errorf("%w: counts: %w", ErrRLE, err)
			}
			s.Kind, s.RLE = UncompressedRLE, rle
		default:
			return fmt.Errorf("%w: counts must be a string or a list of integers", ErrRLE)
		}
		return nil
	}
	return fmt.Errorf("%w: segmentation must be a list of polygons or an RLE object", ErrSyntax)
}

// MarshalJSON writes s in the form it has.
func (s Segmentation) MarshalJSON() ([]byte, error) {
	switch s.Kind {
	case NoSegmentation:
		return []byte("[]"), nil
	case Polygons:
		return json.Marshal(s.Polygons)
	case UncompressedRLE:
		return json.Marshal(struct {
			Counts []uint32 `json:"counts"`
			Size   [2]int   `json:"size"`
		}{s.RLE.Counts, [2]int{s.RLE.H, s.RLE.W}})
	case CompressedRLE:
		return json.Marshal(struct {
			Counts string `json:"counts"`
			Size   [2]int `json:"size"`
		}{s.RLE.String(), [2]int{s.RLE.H, s.RLE.W}})
	}
	return nil, fmt.Errorf("segmentation kind %v cannot be written", s.Kind)
}

// Validate checks the polygons' shapes: an even number of coordinates and
// at least three points each.
func (s Segmentation) Validate() error {
	if s.Kind != Polygons {
		return nil
	}
	for i, p := range s.Polygons {
		if len(p)%2 != 0 {
			return fmt.Errorf("%w: polygon %d has an odd number of coordinates (%d)", ErrPolygon, i, len(p))
		}
		if len(p) < 6 {
			return fmt.Errorf("%w: polygon %d has %d points, need at least 3", ErrPolygon, i, len(p)/2)
		}
	}
	return nil
}

// parsePolygons reads a JSON list of lists of numbers. Polygons are most of
// a COCO file's bytes; this direct scan is several times faster than
// encoding/json's reflection for them.
func parsePolygons(b []byte) ([][]float64, error) {
	p := 0
	ws := func() {
		for p < len(b) && (b[p] == ' ' || b[p] == '\t' || b[p] == '\n' || b[p] == '\r') {
			p++
		}
	}
	expect := func(c byte) error {
		ws()
		if p >= len(b) || b[p] != c {
			return fmt.Errorf("expected %q at byte %d", c, p)
		}
		p++
		return nil
	}
	if err := expect('['); err != nil {
		return nil, err
	}
	var polys [][]float64
	ws()
	if p < len(b) && b[p] == ']' {
		p++
	} else {
		for {
			if err := expect('['); err != nil {
				return nil, err
			}
			poly := make([]float64, 0, 32)
			ws()
			if p < len(b) && b[p] == ']' {
				p++
			} else {
				for {
					ws()
					start := p
					for p < len(b) && (b[p] >= '0' && b[p] <= '9' || b[p] == '-' || b[p] == '+' || b[p] == '.' || b[p] == 'e' || b[p] == 'E') {
						p++
					}
					v, err := strconv.ParseFloat(string(b[start:p]), 64)
					if err != nil || start == p || b[start] == '+' {
						return nil, fmt.Errorf("polygon %d, coordinate %d: not a number at byte %d", len(polys), len(poly), start)
					}
					poly = append(poly, v)
					ws()
					if p < len(b) && b[p] == ',' {
						p++
						continue
					}
					if err := expect(']'); err != nil {
						return nil, err
					}
					break
				}
			}
			polys = append(polys, poly)
			ws()
			if p < len(b) && b[p] == ',' {
				p++
				continue
			}
			if err := expect(']'); err != nil {
				return nil, err
			}
			break
		}
	}
	ws()
	if p != len(b) {
		return nil, errors.New("data after the polygon list")
	}
	return polys, nil
}
