package coco

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/graftrain/graftrain/data/mask"
)

// Options select what a Dataset keeps.
type Options struct {
	// Classes keeps only the categories with these names (config
	// data.classes); empty keeps all. An unknown name is an error.
	Classes []string
	// Workers rasterise annotations in parallel; 0 means GOMAXPROCS.
	Workers int
}

// Class is one training class. ID 0 is the background; categories get
// 1..N in ascending COCO category id order, as matterport's loader assigns
// them.
type Class struct {
	ID         int
	CategoryID int64 // 0 for the background
	Name       string
}

// Instance is one kept annotation of an image.
type Instance struct {
	AnnotationID int64
	// ClassID is the contiguous class id, negative for a crowd region.
	ClassID      int
	Crowd        bool
	Segmentation Segmentation
	BBox         mask.BBox // COCO x, y, w, h
	Area         float64   // COCO's area field
	// Pixels is the instance mask's pixel count at the image size.
	Pixels int
}

// Sample is one training image: its file (inside the dataset root), size
// and kept instances, in file order.
type Sample struct {
	ImageID   int64
	Path      string
	Width     int
	Height    int
	Instances []Instance
}

// Dataset is the training view of a COCO file, following matterport's COCO
// loader.
type Dataset struct {
	// Root is the image folder every Sample.Path lies in.
	Root string
	// Classes[i] has ID i; Classes[0] is the background "BG".
	Classes []Class
	// Samples are the images with at least one non-crowd instance, in the
	// order of the file's images.
	Samples []Sample
	// Stats count what was dropped and why.
	Stats Stats
}

// Stats count what building a Dataset kept and dropped.
type Stats struct {
	Images              int // images in the file
	SkippedImages       int // images without any non-crowd instance of a kept class
	Annotations         int // annotations in the file
	FilteredAnnotations int // annotations of classes not kept
	MissingSegmentation int // annotations without a segmentation (dropped)
	EmptyAnnotations    int // annotations whose mask has no pixel (dropped)
	Instances           int // kept instances, crowds included
	CrowdInstances      int // kept crowd instances (negative class ids)
}

// ErrPath reports an image file_name that is absolute or leaves the
// dataset root.
var ErrPath = errors.New("image path outside the dataset root")

// NewDataset builds the training view of f with images under root:
// classes numbered 1..N in ascending category id order (only those named in
// opt.Classes when set), every annotation of a kept class rasterised once
// to drop those without a pixel (matterport's load_mask skips them), crowd
// regions kept with negative class ids, and images left without any
// non-crowd instance skipped. Every image's file_name must be a relative
// path inside root; all such problems are returned joined. The
// rasterisation runs on opt.Workers goroutines; the result does not depend
// on their number.
func NewDataset(ctx context.Context, f *File, root string, opt Options) (*Dataset, error) {
	d := &Dataset{Root: filepath.Clean(root)}
	classOf, err := d.buildClasses(f.Categories, opt.Classes)
	if err != nil {
		return nil, err
	}
	images := make(map[int64]*Image, len(f.Images))
	for i := range f.Images {
		images[f.Images[i].ID] = &f.Images[i]
	}
	byImage := make(map[int64][]int, len(f.Images))
	for i, a := range f.Annotations {
		byImage[a.ImageID] = append(byImage[a.ImageID], i)
	}
	d.Stats.Images = len(f.Images)
	d.Stats.Annotations = len(f.Annotations)
	pixels, err := countPixels(ctx, f, images, classOf, opt.Workers)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, im := range f.Images {
		path, err := resolve(d.Root, im)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s := Sample{ImageID: im.ID, Path: path, Width: im.Width, Height: im.Height}
		positive := false
		var crowds int
		for _, ai := range byImage[im.ID] {
			a := &f.Annotations[ai]
			class, ok := classOf[a.CategoryID]
			if !ok {
				d.Stats.FilteredAnnotations++
				continue
			}
			if a.Segmentation.Kind == NoSegmentation {
				d.Stats.MissingSegmentation++
				continue
			}
			px := pixels[ai]
			if px.err != nil {
				errs = append(errs, fmt.Errorf("image %d, annotation %d: %w", im.ID, a.ID, px.err))
				continue
			}
			if px.n < 1 {
				d.Stats.EmptyAnnotations++
				continue
			}
			if a.IsCrowd {
				class = -class
				crowds++
			} else {
				positive = true
			}
			s.Instances = append(s.Instances, Instance{
				AnnotationID: a.ID, ClassID: class, Crowd: a.IsCrowd,
				Segmentation: a.Segmentation, BBox: a.BBox, Area: a.Area, Pixels: px.n,
			})
		}
		if !positive {
			d.Stats.SkippedImages++
			continue
		}
		d.Stats.Instances += len(s.Instances)
		d.Stats.CrowdInstances += crowds
		d.Samples = append(d.Samples, s)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return d, nil
}

// pixelCount is an annotation's mask pixel count at its image's size, as
// load_mask would produce it.
type pixelCount struct {
	n   int
	err error
}

// countPixels rasterises every annotation of a kept class on workers
// goroutines (0: GOMAXPROCS), each writing only its own entries.
func countPixels(ctx context.Context, f *File, images map[int64]*Image, classOf map[int64]int, workers int) ([]pixelCount, error) {
	out := make([]pixelCount, len(f.Annotations))
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	const chunk = 256
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				lo := int(next.Add(chunk)) - chunk
				if lo >= len(out) || ctx.Err() != nil {
					return
				}
				for i := lo; i < min(lo+chunk, len(out)); i++ {
					a := &f.Annotations[i]
					im, ok := images[a.ImageID]
					if _, kept := classOf[a.CategoryID]; !ok || !kept || a.Segmentation.Kind == NoSegmentation {
						continue
					}
					out[i] = annotationPixels(a, im)
				}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

func annotationPixels(a *Annotation, im *Image) pixelCount {
	r, err := a.Segmentation.ToRLE(im.Height, im.Width)
	if err != nil {
		return pixelCount{err: err}
	}
	n := r.Area()
	if n > 0 && (r.H != im.Height || r.W != im.Width) {
		if !a.IsCrowd {
			return pixelCount{err: fmt.Errorf("mask is %d×%d, image is %d×%d", r.H, r.W, im.Height, im.Width)}
		}
		// load_mask replaces a crowd mask of another size by all ones.
		n = im.Height * im.Width
	}
	return pixelCount{n: n}
}

// buildClasses numbers the kept categories and returns category id → class.
func (d *Dataset) buildClasses(cats []Category, names []string) (map[int64]int, error) {
	sorted := slices.Clone(cats)
	slices.SortStableFunc(sorted, func(a, b Category) int { return cmp.Compare(a.ID, b.ID) })
	keep := func(Category) bool { return true }
	if len(names) > 0 {
		want := make(map[string]bool, len(names))
		for _, n := range names {
			want[n] = true
		}
		for _, c := range sorted {
			delete(want, c.Name)
		}
		if len(want) > 0 {
			missing := make([]string, 0, len(want))
			for n := range want {
				missing = append(missing, fmt.Sprintf("%q", n))
			}
			slices.Sort(missing)
			all := make([]string, len(sorted))
			for i, c := range sorted {
				all[i] = c.Name
			}
			return nil, fmt.Errorf("data.classes: no category named %s; the categories are: %s",
				strings.Join(missing, ", "), strings.Join(all, ", "))
		}
		keep = func(c Category) bool { return slices.Contains(names, c.Name) }
	}
	d.Classes = []Class{{ID: 0, Name: "BG"}}
	classOf := make(map[int64]int)
	for _, c := range sorted {
		if !keep(c) {
			continue
		}
		id := len(d.Classes)
		d.Classes = append(d.Classes, Class{ID: id, CategoryID: c.ID, Name: c.Name})
		classOf[c.ID] = id
	}
	return classOf, nil
}

// resolve joins root and the image's file_name, refusing names that are
// absolute or climb out of root (a lexical check: links inside root are
// followed as the operating system does).
func resolve(root string, im Image) (string, error) {
	name := filepath.FromSlash(im.FileName)
	if !filepath.IsLocal(name) {
		return "", fmt.Errorf("image %d: %w: file_name %q must be a relative path inside %s", im.ID, ErrPath, im.FileName, root)
	}
	return filepath.Join(root, name), nil
}

// Load reads the annotation file and builds its Dataset (see NewDataset)
// with images under root; an empty root means the annotation file's folder.
func Load(ctx context.Context, annotations, root string, opt Options) (*Dataset, error) {
	f, err := ReadFile(ctx, annotations)
	if err != nil {
		return nil, err
	}
	if root == "" {
		root = filepath.Dir(annotations)
	}
	d, err := NewDataset(ctx, f, root, opt)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", annotations, err)
	}
	return d, nil
}

// NumClasses is the class count including the background.
func (d *Dataset) NumClasses() int { return len(d.Classes) }

// ClassNames returns the class names by class id, "BG" first.
func (d *Dataset) ClassNames() []string {
	names := make([]string, len(d.Classes))
	for i, c := range d.Classes {
		names[i] = c.Name
	}
	return names
}
