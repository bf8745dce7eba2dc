// Package anchors owns the FPN pyramid anchors of matterport's Mask R-CNN:
// their exact float64 coordinates and order (level, then row, then column,
// then ratio), the per-level grid geometry that lets RPN target building
// visit only the anchors near a box, the normalised form the predict
// signature takes, and a per-shape cache owned by a value.
package anchors

import (
	"fmt"
	"math"
	"sync"
)

// Config is matterport's anchor geometry (RPN_ANCHOR_SCALES,
// RPN_ANCHOR_RATIOS, BACKBONE_STRIDES, RPN_ANCHOR_STRIDE). Scales and
// Strides pair up by pyramid level.
type Config struct {
	Scales       []float64
	Ratios       []float64
	Strides      []int
	AnchorStride int
}

// Validate reports a configuration matterport could not use.
func (c Config) Validate() error {
	switch {
	case len(c.Scales) == 0:
		return fmt.Errorf("anchors: no anchor scales (model.rpn_anchor_scales)")
	case len(c.Scales) != len(c.Strides):
		return fmt.Errorf("anchors: %d anchor scales but %d backbone strides; model.rpn_anchor_scales and model.backbone_strides must pair up by level", len(c.Scales), len(c.Strides))
	case len(c.Ratios) == 0:
		return fmt.Errorf("anchors: no anchor ratios (model.rpn_anchor_ratios)")
	case c.AnchorStride < 1:
		return fmt.Errorf("anchors: model.rpn_anchor_stride is %d, want >= 1", c.AnchorStride)
	}
	for i, s := range c.Strides {
		if s < 1 {
			return fmt.Errorf("anchors: model.backbone_strides[%d] is %d, want >= 1", i, s)
		}
	}
	for i, r := range c.Ratios {
		if !(r > 0) {
			return fmt.Errorf("anchors: model.rpn_anchor_ratios[%d] is %v, want > 0", i, r)
		}
	}
	for i, s := range c.Scales {
		if !(s > 0) {
			return fmt.Errorf("anchors: model.rpn_anchor_scales[%d] is %v, want > 0", i, s)
		}
	}
	return nil
}

// Box is y1, x1, y2, x2 in pixels, matterport's box order.
type Box [4]float64

// Level is one pyramid level's anchor grid. Anchor Offset + (r*Cols+c)*R + k
// is centred at (r*Step, c*Step) with half sizes HalfH[k], HalfW[k].
type Level struct {
	Offset       int       // index of the level's first anchor
	Rows, Cols   int       // anchor positions along y and x
	Step         float64   // centre spacing in pixels (stride × anchor stride)
	HalfH, HalfW []float64 // per ratio, half the anchor height and width
	MaxHalfH     float64
	MaxHalfW     float64
}

// Set is the anchors of one image shape.
type Set struct {
	Height, Width int
	Boxes         []Box
	Levels        []Level

	normOnce sync.Once
	norm     []float32
}

// Len is the anchor count A.
func (s *Set) Len() int { return len(s.Boxes) }

// FeatureShape is matterport's compute_backbone_shapes for one stride:
// ceil(image / stride) on each side.
func FeatureShape(h, w, stride int) (int, int) {
	return (h + stride - 1) / stride, (w + stride - 1) / stride
}

// Count returns the anchor count for an image of h×w without building them.
func Count(c Config, h, w int) int {
	n := 0
	for _, st := range c.Strides {
		fh, fw := FeatureShape(h, w, st)
		rows := (fh + c.AnchorStride - 1) / c.AnchorStride
		cols := (fw + c.AnchorStride - 1) / c.AnchorStride
		n += rows * cols * len(c.Ratios)
	}
	return n
}

// Generate computes matterport's generate_pyramid_anchors for an image of
// h×w pixels, with the same float64 arithmetic: heights scale/sqrt(ratio),
// widths scale*sqrt(ratio), corners centre ∓ 0.5×size.
func Generate(c Config, h, w int) (*Set, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if h < 1 || w < 1 {
		return nil, fmt.Errorf("anchors: image shape %d×%d, want positive", h, w)
	}
	s := &Set{Height: h, Width: w, Boxes: make([]Box, 0, Count(c, h, w))}
	for li, scale := range c.Scales {
		stride := c.Strides[li]
		fh, fw := FeatureShape(h, w, stride)
		lv := Level{
			Offset: len(s.Boxes),
			Rows:   (fh + c.AnchorStride - 1) / c.AnchorStride,
			Cols:   (fw + c.AnchorStride - 1) / c.AnchorStride,
			Step:   float64(c.AnchorStride * stride),
			HalfH:  make([]float64, len(c.Ratios)),
			HalfW:  make([]float64, len(c.Ratios)),
		}
		for k, r := range c.Ratios {
			lv.HalfH[k] = 0.5 * (scale / math.Sqrt(r))
			lv.HalfW[k] = 0.5 * (scale * math.Sqrt(r))
			lv.MaxHalfH = math.Max(lv.MaxHalfH, lv.HalfH[k])
			lv.MaxHalfW = math.Max(lv.MaxHalfW, lv.HalfW[k])
		}
		for r := 0; r < lv.Rows; r++ {
			cy := float64(r * c.AnchorStride * stride)
			for col := 0; col < lv.Cols; col++ {
				cx := float64(col * c.AnchorStride * stride)
				for k := range c.Ratios {
					s.Boxes = append(s.Boxes, Box{cy - lv.HalfH[k], cx - lv.HalfW[k], cy + lv.HalfH[k], cx + lv.HalfW[k]})
				}
			}
		}
		s.Levels = append(s.Levels, lv)
	}
	return s, nil
}

// Normalized returns the anchors as matterport's norm_boxes makes them for
// the predict signature: (box - [0, 0, 1, 1]) / [H-1, W-1, H-1, W-1] in
// float64, stored as float32, flattened [A*4]. Computed once per Set.
func (s *Set) Normalized() []float32 {
	s.normOnce.Do(func() {
		sh, sw := float64(s.Height-1), float64(s.Width-1)
		s.norm = make([]float32, 4*len(s.Boxes))
		for i, b := range s.Boxes {
			s.norm[4*i] = float32(b[0] / sh)
			s.norm[4*i+1] = float32(b[1] / sw)
			s.norm[4*i+2] = float32((b[2] - 1) / sh)
			s.norm[4*i+3] = float32((b[3] - 1) / sw)
		}
	})
	return s.norm
}

// Cache computes each image shape's anchors once. It is safe for
// concurrent use; the Sets it returns are shared and must not be modified.
type Cache struct {
	cfg  Config
	mu   sync.Mutex
	sets map[[2]int]*Set
}

// NewCache returns an empty cache for cfg, checking cfg first.
func NewCache(cfg Config) (*Cache, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Cache{cfg: cfg, sets: map[[2]int]*Set{}}, nil
}

// Config returns the geometry the cache was made with.
func (c *Cache) Config() Config { return c.cfg }

// Get returns the anchors of an h×w image.
func (c *Cache) Get(h, w int) (*Set, error) {
	key := [2]int{h, w}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.sets[key]; ok {
		return s, nil
	}
	s, err := Generate(c.cfg, h, w)
	if err != nil {
		return nil, err
	}
	c.sets[key] = s
	return s, nil
}
