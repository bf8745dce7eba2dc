// Package check owns the dataset report of `graftrain data check`: what is
// wrong with a COCO dataset (missing files, boxes outside their image,
// images left without instances, structural problems the reader finds) and
// what matters for Mask R-CNN training with a given geometry: object sizes
// against the anchor scales, how well the best anchor can match each box,
// tiny objects, instances per image against MAX_GT_INSTANCES, class balance.
package check

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"sort"

	"github.com/graftrain/graftrain/data/anchors"
	"github.com/graftrain/graftrain/data/coco"
	"github.com/graftrain/graftrain/data/image"
	"github.com/graftrain/graftrain/data/loader"
	"github.com/graftrain/graftrain/data/rpn"
)

// TinySide is the shorter box side, in molded pixels, under which an
// object counts as tiny: smaller than a quarter of the smallest anchor
// scale is hard for the RPN, and it may vanish in the nearest mask resize.
const TinySide = 4.0

// Bin is one object-size histogram bin: sqrt(box area) in molded pixels
// within [Lo, Hi); Hi 0 means no upper bound.
type Bin struct {
	Lo    float64 `json:"lo"`
	Hi    float64 `json:"hi,omitempty"`
	Count int     `json:"count"`
	// Anchor is the anchor scale inside the bin, 0 when none.
	Anchor float64 `json:"anchor,omitempty"`
}

// ClassCount is one class's share of the data.
type ClassCount struct {
	ID        int    `json:"id"`
	Name      string `json:"name"`
	Instances int    `json:"instances"`
	Images    int    `json:"images"`
}

// Report is the result of a check.
type Report struct {
	Annotations string   `json:"annotations"`
	Images      int      `json:"images"`    // in the file
	Usable      int      `json:"usable"`    // with at least one non-crowd instance
	Instances   int      `json:"instances"` // non-crowd
	Crowd       int      `json:"crowd"`     // crowd regions
	Problems    []string `json:"problems"`
	Missing     int      `json:"missing_files"`
	OutOfImage  int      `json:"out_of_image_boxes"`
	EmptyImages int      `json:"empty_images"`
	Empty       int      `json:"empty_annotations"`

	Sizes []Bin `json:"object_sizes"`
	// Share of non-crowd boxes whose best anchor IoU is under 0.3, 0.5, 0.7.
	BestIoUUnder [3]float64 `json:"best_anchor_iou_under_0.3_0.5_0.7"`
	Tiny         int        `json:"tiny_objects"`

	MaxInstances   int     `json:"max_instances_per_image"`
	MeanInstances  float64 `json:"mean_instances_per_image"`
	OverMaxGT      int     `json:"images_over_max_gt_instances"`
	MaxGTInstances int     `json:"max_gt_instances"`

	Classes []ClassCount `json:"classes"`
}

// Options configure a check.
type Options struct {
	Classes []string // data.classes
	// Geometry returns the model geometry for the dataset's class count
	// (background included); it is called once the dataset has loaded.
	Geometry func(numClasses int) (loader.Geometry, error)
	// Progress, when set, is called after each image with (done, total).
	Progress func(done, total int)
}

// Run checks the dataset of annotations with images under root.
func Run(ctx context.Context, annotations, root string, opt Options) (*Report, error) {
	r := &Report{Annotations: annotations}
	f, err := coco.ReadFile(ctx, annotations)
	if err != nil {
		r.Problems = append(r.Problems, problemLines(err)...)
		if f == nil {
			return r, nil
		}
	}
	r.Images = len(f.Images)
	sizes := make(map[int64][2]int, len(f.Images))
	for _, im := range f.Images {
		sizes[im.ID] = [2]int{im.Width, im.Height}
	}
	for i, a := range f.Annotations {
		wh, ok := sizes[a.ImageID]
		b := a.BBox
		if ok && (b[0] < 0 || b[1] < 0 || b[0]+b[2] > float64(wh[0])+0.5 || b[1]+b[3] > float64(wh[1])+0.5) {
			r.OutOfImage++
			if r.OutOfImage <= 20 {
				r.Problems = append(r.Problems, fmt.Sprintf("annotations[%d] (id %d): bbox %v leaves its %d×%d image %d", i, a.ID, b, wh[0], wh[1], a.ImageID))
			}
		}
	}
	ds, err := coco.NewDataset(ctx, f, root, coco.Options{Classes: opt.Classes})
	if err != nil {
		r.Problems = append(r.Problems, problemLines(err)...)
		return r, nil
	}
	r.Usable = len(ds.Samples)
	r.EmptyImages = ds.Stats.SkippedImages
	r.Empty = ds.Stats.EmptyAnnotations

	g, err := opt.Geometry(ds.NumClasses())
	if err != nil {
		return nil, err
	}
	r.MaxGTInstances = g.MaxGTInstances
	cache, err := anchors.NewCache(g.Anchors)
	if err != nil {
		return nil, err
	}
	oh, ow := g.Resize.OutputShape()
	set, err := cache.Get(oh, ow)
	if err != nil {
		return nil, err
	}
	r.Sizes = bins(g.Anchors.Scales)
	r.Classes = make([]ClassCount, len(ds.Classes))
	for i, c := range ds.Classes {
		r.Classes[i] = ClassCount{ID: c.ID, Name: c.Name}
	}
	var under [3]int
	rng := rand.New(rand.NewPCG(1, 1))
	for si := range ds.Samples {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s := &ds.Samples[si]
		if _, err := os.Stat(s.Path); err != nil {
			r.Missing++
			if r.Missing <= 20 {
				r.Problems = append(r.Problems, fmt.Sprintf("image %d: %v", s.ImageID, err))
			}
		}
		geo, err := image.Plan(g.Resize, s.Height, s.Width, rng)
		if err != nil {
			r.Problems = append(r.Problems, fmt.Sprintf("image %d: %v", s.ImageID, err))
			continue
		}
		seen := map[int]bool{}
		for _, in := range s.Instances {
			if in.Crowd {
				r.Crowd++
				continue
			}
			r.Instances++
			if in.ClassID < len(r.Classes) {
				r.Classes[in.ClassID].Instances++
				if !seen[in.ClassID] {
					seen[in.ClassID] = true
					r.Classes[in.ClassID].Images++
				}
			}
			box := molded(in.BBox, geo)
			h, w := box[2]-box[0], box[3]-box[1]
			if min(h, w) < TinySide {
				r.Tiny++
			}
			size := math.Sqrt(math.Max(h, 0) * math.Max(w, 0))
			for bi := range r.Sizes {
				if size >= r.Sizes[bi].Lo && (size < r.Sizes[bi].Hi || r.Sizes[bi].Hi == 0) {
					r.Sizes[bi].Count++
					break
				}
			}
			best := rpn.BestIoU(set, box)
			for k, th := range []float64{0.3, 0.5, 0.7} {
				if best < th {
					under[k]++
				}
			}
		}
		r.MaxInstances = max(r.MaxInstances, len(s.Instances))
		if len(s.Instances) > g.MaxGTInstances {
			r.OverMaxGT++
		}
		if opt.Progress != nil {
			opt.Progress(si+1, len(ds.Samples))
		}
	}
	if r.Usable > 0 {
		r.MeanInstances = float64(r.Instances+r.Crowd) / float64(r.Usable)
	}
	if r.Instances > 0 {
		for k := range under {
			r.BestIoUUnder[k] = float64(under[k]) / float64(r.Instances)
		}
	}
	return r, nil
}

// molded maps a COCO x, y, w, h box to y1, x1, y2, x2 in the molded image.
func molded(b [4]float64, g image.Geometry) anchors.Box {
	s := g.Scale
	dy, dx := float64(g.Pad[0]), float64(g.Pad[2])
	if g.Cropped {
		dy, dx = -float64(g.Crop[0]), -float64(g.Crop[1])
	}
	return anchors.Box{b[1]*s + dy, b[0]*s + dx, (b[1]+b[3])*s + dy, (b[0]+b[2])*s + dx}
}

// bins are powers of two from 4 to 2048 px, the anchor scales marked.
func bins(scales []float64) []Bin {
	var out []Bin
	lo := 0.0
	for hi := 4.0; hi <= 2048; hi *= 2 {
		out = append(out, Bin{Lo: lo, Hi: hi})
		lo = hi
	}
	out = append(out, Bin{Lo: lo})
	for _, s := range scales {
		for i := range out {
			if s >= out[i].Lo && (s < out[i].Hi || out[i].Hi == 0) {
				out[i].Anchor = s
			}
		}
	}
	return out
}

func problemLines(err error) []string {
	var lines []string
	var j interface{ Unwrap() []error }
	if errors.As(err, &j) {
		for _, e := range j.Unwrap() {
			lines = append(lines, problemLines(e)...)
		}
		return lines
	}
	return []string{err.Error()}
}

// Sorted returns the classes by instance count, most first (background
// left out).
func (r *Report) Sorted() []ClassCount {
	out := append([]ClassCount(nil), r.Classes...)
	if len(out) > 0 && out[0].ID == 0 {
		out = out[1:]
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Instances > out[j].Instances })
	return out
}
