package shapes

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"

	"github.com/graftrain/graftrain/data/coco"
	"github.com/graftrain/graftrain/data/mask"
)

// Config says what to generate.
type Config struct {
	Seed       uint64
	Train, Val int // image counts
}

// Default is the configuration of the committed examples/shapes dataset.
func Default() Config { return Config{Seed: 4, Train: 40, Val: 10} }

// Categories are the dataset's classes.
var categories = []coco.Category{
	{ID: 1, Name: "square", Supercategory: "shape"},
	{ID: 2, Name: "circle", Supercategory: "shape"},
	{ID: 3, Name: "triangle", Supercategory: "shape"},
}

// sizes are the image sizes drawn from, width × height.
var sizes = [][2]int{{128, 128}, {160, 128}, {192, 160}, {256, 192}, {192, 256}, {224, 160}}

// Files generates the dataset in memory: relative slash-separated path →
// content. The paths are instances_train.json, instances_val.json and the
// images under train/ and val/ (file_name in the JSON is relative to the
// dataset folder).
func Files(ctx context.Context, cfg Config) (map[string][]byte, error) {
	if cfg.Train < 0 || cfg.Val < 0 {
		return nil, fmt.Errorf("shapes: image counts must not be negative (train %d, val %d)", cfg.Train, cfg.Val)
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5ba9e5))
	out := make(map[string][]byte)
	g := &gen{rng: rng, nextAnn: 1}
	imageID := int64(1)
	for _, split := range []struct {
		name string
		n    int
	}{{"train", cfg.Train}, {"val", cfg.Val}} {
		f := &coco.File{Categories: categories}
		for i := 0; i < split.n; i++ {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			// The third image of each split has only a crowd region and
			// the fifth none at all: loaders must skip both.
			kind := normal
			switch i {
			case 2:
				kind = crowdOnly
			case 4:
				kind = empty
			}
			name, data, anns, im, err := g.image(split.name, imageID, kind)
			if err != nil {
				return nil, err
			}
			out[name] = data
			f.Images = append(f.Images, im)
			f.Annotations = append(f.Annotations, anns...)
			imageID++
		}
		var buf bytes.Buffer
		if err := coco.Write(&buf, f); err != nil {
			return nil, err
		}
		out["instances_"+split.name+".json"] = buf.Bytes()
	}
	return out, nil
}

// Generate writes the dataset under dir (see Files), creating folders as
// needed and replacing files of the same names.
func Generate(ctx context.Context, dir string, cfg Config) error {
	files, err := Files(ctx, cfg)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		p := filepath.Join(dir, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("shapes: %w", err)
		}
		if err := os.WriteFile(p, files[n], 0o644); err != nil {
			return fmt.Errorf("shapes: %w", err)
		}
	}
	return nil
}

type imageKind int

const (
	normal imageKind = iota
	crowdOnly
	empty
)

type gen struct {
	rng     *rand.Rand
	nextAnn int64
}

// shape is one drawn object: its class, polygon(s) and raster.
type shape struct {
	category int64
	polys    [][]float64
	rle      mask.RLE
	crowd    bool
	fill     color.RGBA
}

func (g *gen) image(split string, id int64, kind imageKind) (string, []byte, []coco.Annotation, coco.Image, error) {
	r := g.rng
	sz := sizes[r.IntN(len(sizes))]
	w, h := sz[0], sz[1]
	bg := color.RGBA{uint8(40 + r.IntN(170)), uint8(40 + r.IntN(170)), uint8(40 + r.IntN(170)), 255}
	var shapes []shape
	var boxes [][4]float64 // x0, y0, x1, y1 of placed shapes, kept apart
	place := func(size float64) (cx, cy float64, ok bool) {
		for try := 0; try < 50; try++ {
			cx = round2(size + r.Float64()*(float64(w)-2*size))
			cy = round2(size + r.Float64()*(float64(h)-2*size))
			b := [4]float64{cx - size - 2, cy - size - 2, cx + size + 2, cy + size + 2}
			free := true
			for _, o := range boxes {
				if b[0] < o[2] && o[0] < b[2] && b[1] < o[3] && o[1] < b[3] {
					free = false
					break
				}
			}
			if free {
				boxes = append(boxes, b)
				return cx, cy, true
			}
		}
		return 0, 0, false
	}
	n := 1 + r.IntN(4)
	switch kind {
	case crowdOnly, empty:
		n = 0
	}
	minDim := float64(min(w, h))
	for i := 0; i < n; i++ {
		cat := int64(1 + r.IntN(3))
		size := round2(minDim * (0.08 + 0.14*r.Float64())) // half extent
		angle := r.Float64() * 2 * math.Pi
		cx, cy, ok := place(size)
		if !ok {
			continue
		}
		poly := polygon(cat, cx, cy, size, angle)
		shapes = append(shapes, shape{category: cat, polys: [][]float64{poly}, fill: g.color(bg)})
	}
	// A crowd: a cluster of small circles of one class, annotated as one
	// region.
	if kind == crowdOnly || (kind == normal && r.IntN(6) == 0) {
		cat := int64(1 + r.IntN(3))
		size := round2(minDim * 0.16)
		if cx, cy, ok := place(size); ok {
			var polys [][]float64
			for k := 3 + r.IntN(4); k > 0; k-- {
				rad := round2(2 + 2*r.Float64())
				px := round2(cx + (r.Float64()*2-1)*(size-rad))
				py := round2(cy + (r.Float64()*2-1)*(size-rad))
				polys = append(polys, polygon(cat, px, py, rad, r.Float64()*2*math.Pi))
			}
			shapes = append(shapes, shape{category: cat, polys: polys, crowd: true, fill: g.color(bg)})
		}
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	// A gentle diagonal gradient keeps the background from being flat.
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			d := int((x+y)*24/(w+h)) - 12
			img.SetRGBA(x, y, color.RGBA{clamp(int(bg.R) + d), clamp(int(bg.G) + d), clamp(int(bg.B) + d), 255})
		}
	}
	var anns []coco.Annotation
	for _, s := range shapes {
		rle, err := mask.FromPolygons(s.polys, h, w)
		if err != nil {
			return "", nil, nil, coco.Image{}, err
		}
		s.rle = rle
		dense, err := mask.Decode(rle)
		if err != nil {
			return "", nil, nil, coco.Image{}, err
		}
		for p, on := range dense {
			if on {
				img.SetRGBA(p%w, p/w, s.fill)
			}
		}
		if rle.Area() == 0 {
			continue
		}
		a := coco.Annotation{
			ID: g.nextAnn, ImageID: id, CategoryID: s.category,
			Area: float64(rle.Area()), IsCrowd: s.crowd,
		}
		g.nextAnn++
		if s.crowd {
			a.BBox = rle.ToBBox()
			// Alternate the two RLE forms COCO files use.
			kind := coco.UncompressedRLE
			if id%2 == 0 {
				kind = coco.CompressedRLE
			}
			a.Segmentation = coco.Segmentation{Kind: kind, RLE: rle}
		} else {
			a.BBox = polyBox(s.polys[0])
			a.Segmentation = coco.Segmentation{Kind: coco.Polygons, Polygons: s.polys}
		}
		anns = append(anns, a)
	}
	var buf bytes.Buffer
	var name string
	var err error
	switch id % 10 {
	case 4: // some PNGs
		name = fmt.Sprintf("%s/%06d.png", split, id)
		err = (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, img)
	case 7: // some grayscale JPEGs
		name = fmt.Sprintf("%s/%06d.jpg", split, id)
		gray := image.NewGray(img.Bounds())
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				gray.Set(x, y, img.At(x, y))
			}
		}
		err = jpeg.Encode(&buf, gray, &jpeg.Options{Quality: 85})
	default:
		name = fmt.Sprintf("%s/%06d.jpg", split, id)
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85})
	}
	if err != nil {
		return "", nil, nil, coco.Image{}, fmt.Errorf("shapes: encode %s: %w", name, err)
	}
	return name, buf.Bytes(), anns, coco.Image{ID: id, FileName: name, Width: w, Height: h}, nil
}

// color draws a shape colour well away from the background.
func (g *gen) color(bg color.RGBA) color.RGBA {
	for {
		c := color.RGBA{uint8(g.rng.IntN(256)), uint8(g.rng.IntN(256)), uint8(g.rng.IntN(256)), 255}
		d := iabs(int(c.R)-int(bg.R)) + iabs(int(c.G)-int(bg.G)) + iabs(int(c.B)-int(bg.B))
		if d > 150 {
			return c
		}
	}
}

// polygon returns the outline of a shape of the category centred at cx, cy
// with half extent size, rotated by angle: a square, a 24-gon circle or an
// equilateral triangle. Vertices are rounded to 1/100 pixel as written in
// the JSON, so the raster drawn equals the raster of the annotation read
// back.
func polygon(cat int64, cx, cy, size, angle float64) []float64 {
	var n int
	var rad float64
	switch cat {
	case 1:
		n, rad = 4, size
	case 2:
		n, rad = 24, size
	default:
		n, rad = 3, size
	}
	xy := make([]float64, 0, 2*n)
	for k := 0; k < n; k++ {
		a := angle + 2*math.Pi*float64(k)/float64(n)
		// Explicit conversions keep the products unfused on every
		// architecture, so the output does not depend on the machine.
		xy = append(xy, round2(cx+float64(rad*math.Cos(a))), round2(cy+float64(rad*math.Sin(a))))
	}
	return xy
}

func polyBox(p []float64) mask.BBox {
	x0, y0 := math.Inf(1), math.Inf(1)
	x1, y1 := math.Inf(-1), math.Inf(-1)
	for i := 0; i < len(p); i += 2 {
		x0, x1 = min(x0, p[i]), max(x1, p[i])
		y0, y1 = min(y0, p[i+1]), max(y1, p[i+1])
	}
	return mask.BBox{x0, y0, round2(x1 - x0), round2(y1 - y0)}
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

func clamp(v int) uint8 { return uint8(min(max(v, 0), 255)) }

func iabs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
