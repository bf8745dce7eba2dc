package loader

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/graftrain/graftrain/data/anchors"
	"github.com/graftrain/graftrain/data/batch"
	"github.com/graftrain/graftrain/data/coco"
	"github.com/graftrain/graftrain/data/image"
	"github.com/graftrain/graftrain/data/mask"
	"github.com/graftrain/graftrain/data/rpn"
)

// Example is one dataset image as the loader reads it: the file, the
// annotated size and the instance masks with class ids (negative for crowd
// regions), as matterport's load_mask returns them.
type Example struct {
	ImageID       int64
	Path          string
	Height, Width int
	Masks         []mask.RLE
	ClassIDs      []int32
}

// Dataset is what the loader reads.
type Dataset interface {
	Len() int
	Example(i int) (Example, error)
}

// COCO adapts a coco.Dataset.
func COCO(d *coco.Dataset) Dataset { return cocoDataset{d} }

type cocoDataset struct{ d *coco.Dataset }

func (c cocoDataset) Len() int { return len(c.d.Samples) }

func (c cocoDataset) Example(i int) (Example, error) {
	s := &c.d.Samples[i]
	rles, ids, err := s.RLEs()
	if err != nil {
		return Example{}, err
	}
	return Example{ImageID: s.ImageID, Path: s.Path, Height: s.Height, Width: s.Width, Masks: rles, ClassIDs: ids}, nil
}

// ErrNoInstances reports an image left without any non-crowd instance
// after resizing (matterport's generator skips it).
var ErrNoInstances = errors.New("no non-crowd instance left after resizing")

// BadImageError is an image that could not be read or decoded, or whose
// pixels disagree with its annotations.
type BadImageError struct {
	ImageID int64
	Path    string
	Err     error
}

func (e *BadImageError) Error() string {
	return fmt.Sprintf("image %d (%s): %v", e.ImageID, e.Path, e.Err)
}
func (e *BadImageError) Unwrap() error { return e.Err }

// SampleStats describe one prepared image.
type SampleStats struct {
	Instances int // instances fed (after dropping and capping)
	Vanished  int // instances whose mask vanished in resizing
	Dropped   int // instances beyond MaxGTInstances, dropped at random
	Flipped   bool
	RPN       rpn.Stats
	Time      StageTimes
}

// StageTimes is where one image's preparation time went.
type StageTimes struct {
	Decode time.Duration // read and decode the image file
	Resize time.Duration // resize_image
	Masks  time.Duration // masks: paint, resize, place, boxes
	RPN    time.Duration // build_rpn_targets
	Fill   time.Duration // mini masks, boxes, meta, mold into the batch
}

// Total is the sum of the stages.
func (t StageTimes) Total() time.Duration { return t.Decode + t.Resize + t.Masks + t.RPN + t.Fill }

// Preparer turns one Example into one slot of a batch. It keeps buffers
// between calls and is not safe for concurrent use: give each worker one.
type Preparer struct {
	geo    Geometry
	dims   batch.Dims
	cache  *anchors.Cache
	rs     image.Resizer
	rpn    *rpn.Builder
	out    *image.RGB
	full   []bool
	placed []image.Placed
	arena  []bool
	ids    []int32
	boxes  []anchors.Box
	perm   []int
	active []bool
	// flipped: the last image is to be mirrored; outFlipped: out already is.
	flipped, outFlipped bool
}

// LastRGB returns the last prepared image as the model sees it before the
// mean subtraction (resized, padded, flipped when augmented), for overlays.
// It is valid until the next Prepare.
func (p *Preparer) LastRGB() *image.RGB {
	if p.flipped && !p.outFlipped {
		image.FlipLR(p.out)
		p.outFlipped = true
	}
	return p.out
}

// NewPreparer returns a Preparer; cache may be shared between Preparers
// (nil makes one).
func NewPreparer(g Geometry, cache *anchors.Cache) (*Preparer, error) {
	if err := g.Validate(); err != nil {
		return nil, err
	}
	if cache == nil {
		var err error
		if cache, err = anchors.NewCache(g.Anchors); err != nil {
			return nil, err
		}
	}
	b, err := rpn.NewBuilder(g.RPN)
	if err != nil {
		return nil, err
	}
	d := g.Dims()
	p := &Preparer{geo: g, dims: d, cache: cache, rpn: b, out: image.NewRGB(d.Height, d.Width), active: make([]bool, g.NumClasses)}
	for i := range p.active {
		p.active[i] = true
	}
	return p, nil
}

// Seed returns the random stream of one image: it depends only on the
// seed, the epoch and the dataset index.
func Seed(seed int64, epoch, index int) *rand.Rand {
	return rand.New(rand.NewPCG(mix(uint64(seed)^mix(uint64(epoch)+0x9e3779b97f4a7c15)), uint64(index)))
}

// mix is SplitMix64's finaliser.
func mix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Prepare loads ex's image, runs load_image_gt (resize, masks, optional
// flip, boxes, mini masks, mold, meta), build_rpn_targets and the
// MAX_GT_INSTANCES subsampling, and writes the results into slot of b
// (a batch of this Preparer's dims). index is the image's dataset index,
// stored as the meta's image id as matterport does. augment enables the
// horizontal flip (probability 0.5).
func (p *Preparer) Prepare(ex Example, index int, rng *rand.Rand, augment bool, b *batch.Batch, slot int) (SampleStats, error) {
	t0 := time.Now()
	img, err := image.DecodeFile(ex.Path)
	if err != nil {
		return SampleStats{}, &BadImageError{ex.ImageID, ex.Path, err}
	}
	dec := time.Since(t0)
	st, err := p.PrepareImage(ex, img, index, rng, augment, b, slot)
	st.Time.Decode = dec
	return st, err
}

// PrepareImage is Prepare with the image already decoded.
func (p *Preparer) PrepareImage(ex Example, img *image.RGB, index int, rng *rand.Rand, augment bool, b *batch.Batch, slot int) (SampleStats, error) {
	var st SampleStats
	bd, pd := b.Dims, p.dims
	bd.Size, pd.Size = 0, 0
	if bd != pd || slot < 0 || slot >= b.Size {
		return st, fmt.Errorf("loader: slot %d of a batch of %+v; the preparer fills %+v", slot, b.Dims, p.dims)
	}
	t0 := time.Now()
	bad := func(err error) error { return &BadImageError{ex.ImageID, ex.Path, err} }
	if len(ex.ClassIDs) != len(ex.Masks) {
		return st, bad(fmt.Errorf("%d class ids for %d masks", len(ex.ClassIDs), len(ex.Masks)))
	}
	for i, id := range ex.ClassIDs {
		if id == 0 || int(max(id, -id)) >= p.geo.NumClasses {
			return st, bad(fmt.Errorf("instance %d: class id %d outside 1..%d (or its negative for a crowd)", i, id, p.geo.NumClasses-1))
		}
	}
	if img.H != ex.Height || img.W != ex.Width {
		return st, bad(fmt.Errorf("decoded %d×%d, annotations say %d×%d", img.H, img.W, ex.Height, ex.Width))
	}
	g, err := image.Plan(p.geo.Resize, img.H, img.W, rng)
	if err != nil {
		return st, bad(err)
	}
	d := p.dims
	if g.OutH != d.Height || g.OutW != d.Width {
		return st, bad(fmt.Errorf("resizes to %d×%d, the model takes %d×%d (model.image_resize_mode %s)", g.OutH, g.OutW, d.Height, d.Width, p.geo.Resize.Mode))
	}
	if err := p.rs.Apply(img, g, p.out); err != nil {
		return st, bad(err)
	}
	t1 := time.Now()
	st.Time.Resize = t1.Sub(t0)
	flip := augment && rng.IntN(2) == 1
	st.Flipped = flip
	p.flipped, p.outFlipped = flip, false

	// Masks: resize, pad or crop, flip, tight boxes; vanished ones dropped.
	n := ex.Height * ex.Width
	if cap(p.full) < n {
		p.full = make([]bool, n)
	}
	full := p.full[:n]
	p.placed = p.placed[:0]
	p.ids = p.ids[:0]
	p.boxes = p.boxes[:0]
	arenaUsed := 0
	for i, r := range ex.Masks {
		if r.H != ex.Height || r.W != ex.Width {
			return st, bad(fmt.Errorf("instance %d: mask %d×%d, image %d×%d", i, r.H, r.W, ex.Height, ex.Width))
		}
		box, err := paint(r, full)
		if err != nil {
			return st, bad(fmt.Errorf("instance %d: %w", i, err))
		}
		pl, ok := p.rs.PlaceMask(full, box, g, flip, p.arenaAt(arenaUsed, 0))
		if !ok {
			st.Vanished++
			continue
		}
		// Keep the pixels: copy them into the arena.
		buf := p.arenaAt(arenaUsed, len(pl.Pix))
		copy(buf, pl.Pix)
		pl.Pix = buf
		arenaUsed += len(buf)
		p.placed = append(p.placed, pl)
		p.ids = append(p.ids, ex.ClassIDs[i])
		bx := pl.Box
		p.boxes = append(p.boxes, anchors.Box{float64(bx[0]), float64(bx[1]), float64(bx[2]), float64(bx[3])})
	}
	hasPositive := false
	for _, id := range p.ids {
		if id > 0 {
			hasPositive = true
		}
	}
	if !hasPositive {
		return st, ErrNoInstances
	}

	t2 := time.Now()
	st.Time.Masks = t2.Sub(t1)
	set, err := p.cache.Get(d.Height, d.Width)
	if err != nil {
		return st, err
	}
	A, T := d.Anchors, d.RPNTrainAnchors
	if st.RPN, err = p.rpn.Build(set, p.ids, p.boxes, rng, b.RPNMatch[slot*A:(slot+1)*A], b.RPNBBox[slot*T*4:(slot+1)*T*4]); err != nil {
		return st, err
	}

	t3 := time.Now()
	st.Time.RPN = t3.Sub(t2)

	// Cap at MAX_GT_INSTANCES with np.random.choice(n, MAX, replace=False).
	order := p.perm[:0]
	for i := range p.placed {
		order = append(order, i)
	}
	p.perm = order
	if len(order) > d.MaxGTInstances {
		for i := 0; i < d.MaxGTInstances; i++ {
			j := i + rng.IntN(len(order)-i)
			order[i], order[j] = order[j], order[i]
		}
		st.Dropped = len(order) - d.MaxGTInstances
		order = order[:d.MaxGTInstances]
	}
	st.Instances = len(order)

	G := d.MaxGTInstances
	ids := b.GTClassIDs[slot*G : (slot+1)*G]
	boxes := b.GTBoxes[slot*G*4 : (slot+1)*G*4]
	mh, mw := d.MaskHeight, d.MaskWidth
	masks := b.GTMasks[slot*mh*mw*G : (slot+1)*mh*mw*G]
	clear(ids)
	clear(boxes)
	clear(masks)
	var mini []bool
	if p.geo.UseMiniMask {
		mini = p.arenaAt(arenaUsed, mh*mw)
	}
	for k, i := range order {
		pl := &p.placed[i]
		ids[k] = p.ids[i]
		for c := 0; c < 4; c++ {
			boxes[4*k+c] = float32(pl.Box[c])
		}
		if p.geo.UseMiniMask {
			p.rs.MiniMask(pl.Pix, pl.H, pl.W, mh, mw, mini)
			for q, v := range mini {
				masks[q*G+k] = v
			}
			continue
		}
		for y := 0; y < pl.H; y++ {
			for x := 0; x < pl.W; x++ {
				if pl.Pix[y*pl.W+x] {
					masks[((pl.Box[0]+y)*mw+pl.Box[1]+x)*G+k] = true
				}
			}
		}
	}

	M := d.MetaLength()
	image.ComposeMeta(b.ImageMeta[slot*M:(slot+1)*M], index, g, p.active)
	HW3 := d.Height * d.Width * 3
	if flip {
		image.MoldFlipped(b.Image[slot*HW3:(slot+1)*HW3], p.out, p.geo.MeanPixel)
	} else {
		image.Mold(b.Image[slot*HW3:(slot+1)*HW3], p.out, p.geo.MeanPixel)
	}
	b.ImageIDs[slot] = ex.ImageID
	st.Time.Fill = time.Since(t3)
	return st, nil
}

// arenaAt returns n bools of the arena starting at off, growing it (and
// keeping what is already there) when needed. With n == 0 it returns the
// free tail as scratch space.
func (p *Preparer) arenaAt(off, n int) []bool {
	need := off + max(n, 1)
	if cap(p.arena) < need {
		grown := make([]bool, 2*need)
		copy(grown, p.arena[:off])
		// Placed entries point into the old arena; move them.
		used := 0
		for i := range p.placed {
			l := len(p.placed[i].Pix)
			p.placed[i].Pix = grown[used : used+l]
			used += l
		}
		p.arena = grown
	}
	p.arena = p.arena[:cap(p.arena)]
	if n == 0 {
		return p.arena[off:off]
	}
	return p.arena[off : off+n]
}

// Cache returns the anchor cache the Preparer uses.
func (p *Preparer) Cache() *anchors.Cache { return p.cache }

// paint writes r's pixels into the row-major mask full inside r's tight
// box, the only part PlaceMask reads, and returns that box (y1, x1, y2,
// x2; all zero when r is empty). Work is proportional to the box area.
func paint(r mask.RLE, full []bool) ([4]int, error) {
	h, w := r.H, r.W
	var sum uint64
	for _, c := range r.Counts {
		sum += uint64(c)
	}
	if sum != uint64(h)*uint64(w) || len(full) != h*w {
		return [4]int{}, fmt.Errorf("%w: run lengths cover %d pixels of %d×%d", mask.ErrSize, sum, h, w)
	}
	y1, x1, y2, x2 := h, w, -1, -1
	p := 0
	for j, c := range r.Counts {
		if j%2 == 1 && c > 0 {
			a, b := p, p+int(c)-1 // first and last column-major index
			xa, xb := a/h, b/h
			x1, x2 = min(x1, xa), max(x2, xb)
			if xa != xb {
				y1, y2 = 0, h-1
			} else {
				y1, y2 = min(y1, a%h), max(y2, b%h)
			}
		}
		p += int(c)
	}
	if x2 < 0 {
		return [4]int{}, nil
	}
	for y := y1; y <= y2; y++ {
		clear(full[y*w+x1 : y*w+x2+1])
	}
	p = 0
	for j, c := range r.Counts {
		if j%2 == 1 {
			for q, end := p, p+int(c); q < end; {
				x, y := q/h, q%h
				seg := min(end-q, h-y)
				for k := 0; k < seg; k++ {
					full[(y+k)*w+x] = true
				}
				q += seg
			}
		}
		p += int(c)
	}
	return [4]int{y1, x1, y2 + 1, x2 + 1}, nil
}
