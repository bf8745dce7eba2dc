package loader

import (
	"context"
	"errors"
	goimage "image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/graftrain/graftrain/data/batch"
	"github.com/graftrain/graftrain/data/image"
	"github.com/graftrain/graftrain/data/mask"
)

type memDataset []Example

func (m memDataset) Len() int                       { return len(m) }
func (m memDataset) Example(i int) (Example, error) { return m[i], nil }

func smallGeometry() Geometry {
	return Geometry{
		BatchSize: 2, NumClasses: 3,
		Resize:      image.ResizeConfig{MinDim: 64, MaxDim: 64, Mode: image.ModeSquare},
		Anchors:     anchorsConfig(),
		RPN:         rpnConfig(),
		UseMiniMask: true, MiniMask: [2]int{8, 8},
		MeanPixel:      [3]float64{123.7, 116.8, 103.9},
		MaxGTInstances: 2,
	}
}

// rect returns a row-major h×w mask with rows [y1, y2) and columns [x1, x2) set.
func rect(h, w, y1, x1, y2, x2 int) []bool {
	m := make([]bool, h*w)
	for y := y1; y < y2; y++ {
		for x := x1; x < x2; x++ {
			m[y*w+x] = true
		}
	}
	return m
}

func writePNG(t testing.TB, path string, h, w int, seed int) {
	t.Helper()
	m := goimage.NewNRGBA(goimage.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			m.SetNRGBA(x, y, color.NRGBA{uint8(x*7 + seed), uint8(y*5 + seed), uint8(x + y), 255})
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, m); err != nil {
		t.Fatal(err)
	}
}

// synthetic makes n images of 48×64 with two or three rectangles each.
func synthetic(t testing.TB, n int) memDataset {
	dir := t.TempDir()
	var ds memDataset
	for i := 0; i < n; i++ {
		p := filepath.Join(dir, "img"+string(rune('a'+i))+".png")
		writePNG(t, p, 48, 64, i)
		var rles []mask.RLE
		var ids []int32
		for k := 0; k < 2+i%2; k++ {
			y1, x1 := (i*3+k*11)%30, (i*5+k*13)%40
			r, err := mask.Encode(rect(48, 64, y1, x1, y1+10+k, x1+12+i%5), 48, 64)
			if err != nil {
				t.Fatal(err)
			}
			rles = append(rles, r)
			ids = append(ids, int32(1+k%2))
		}
		ds = append(ds, Example{ImageID: int64(100 + i), Path: p, Height: 48, Width: 64, Masks: rles, ClassIDs: ids})
	}
	return ds
}

func collect(t *testing.T, ds Dataset, opts Options, n int) ([]*batch.Batch, []Position) {
	t.Helper()
	l, err := New(context.Background(), ds, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var bs []*batch.Batch
	var ps []Position
	for range n {
		b, _, err := l.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		bs = append(bs, b)
		ps = append(ps, l.Position())
	}
	return bs, ps
}

func TestDeterministicAcrossWorkers(t *testing.T) {
	ds := synthetic(t, 5)
	opts := Options{Geometry: smallGeometry(), Seed: 9, Shuffle: true, Augment: true, Workers: 1}
	one, _ := collect(t, ds, opts, 6) // 12 images: more than two epochs
	opts.Workers = 3
	three, _ := collect(t, ds, opts, 6)
	for i := range one {
		if !reflect.DeepEqual(one[i], three[i]) {
			t.Fatalf("batch %d differs between 1 and 3 workers", i)
		}
	}
	opts.Seed = 10
	other, _ := collect(t, ds, opts, 6)
	same := true
	for i := range one {
		same = same && reflect.DeepEqual(one[i], other[i])
	}
	if same {
		t.Fatal("another seed gave the same stream")
	}
}

func TestSeekResumes(t *testing.T) {
	ds := synthetic(t, 5)
	opts := Options{Geometry: smallGeometry(), Seed: 3, Shuffle: true, Augment: true, Workers: 2}
	all, pos := collect(t, ds, opts, 5)
	if pos[2] != (Position{Epoch: 1, Index: 1, Seed: 3}) {
		t.Fatalf("position after 6 images of 5: %+v", pos[2])
	}
	opts.Start = pos[1]
	resumed, _ := collect(t, ds, opts, 3)
	for i := range resumed {
		if !reflect.DeepEqual(resumed[i], all[2+i]) {
			t.Fatalf("resumed batch %d differs", i)
		}
	}
	l, err := New(context.Background(), ds, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Seek(context.Background(), pos[3]); err != nil {
		t.Fatal(err)
	}
	b, _, err := l.Next(context.Background())
	if err != nil || !reflect.DeepEqual(b, all[4]) {
		t.Fatalf("after Seek: err %v, same %v", err, reflect.DeepEqual(b, all[4]))
	}
}

func TestBadImages(t *testing.T) {
	ds := synthetic(t, 3)
	ds[1].Path = filepath.Join(t.TempDir(), "missing.png")
	opts := Options{Geometry: smallGeometry(), Seed: 1, Workers: 2, Epochs: 1}
	l, err := New(context.Background(), ds, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, st, err := l.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.BadImages != 1 || st.Images != 2 || b.ImageIDs[0] != 100 || b.ImageIDs[1] != 102 {
		t.Fatalf("stats %+v ids %v", st, b.ImageIDs)
	}
	if _, _, err := l.Next(context.Background()); err != io.EOF {
		t.Fatalf("after one epoch: %v, want EOF", err)
	}
	l.Close()

	opts.FailOnBadImage = true
	l, _ = New(context.Background(), ds, opts)
	defer l.Close()
	_, _, err = l.Next(context.Background())
	var bad *BadImageError
	if !errors.As(err, &bad) || bad.ImageID != 101 {
		t.Fatalf("fail_on_bad_image: err %v", err)
	}
}

func TestPrepareHandComputed(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.png")
	writePNG(t, p, 64, 64, 0)
	r1, _ := mask.Encode(rect(64, 64, 10, 20, 20, 40), 64, 64)
	r2, _ := mask.Encode(rect(64, 64, 30, 5, 34, 9), 64, 64)
	r3, _ := mask.Encode(rect(64, 64, 40, 40, 60, 60), 64, 64)
	crowd, _ := mask.Encode(rect(64, 64, 0, 0, 2, 2), 64, 64)
	ex := Example{ImageID: 7, Path: p, Height: 64, Width: 64, Masks: []mask.RLE{r1, r2, r3, crowd}, ClassIDs: []int32{1, 2, 1, -2}}
	g := smallGeometry()
	g.MaxGTInstances = 5
	cache, _ := newCache(g)
	prep, err := NewPreparer(g, cache)
	if err != nil {
		t.Fatal(err)
	}
	d := g.Dims()
	d.Size = 1
	b := batch.New(d)
	st, err := prep.Prepare(ex, 3, Seed(1, 0, 3), false, b, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Scale 1, no padding: boxes are the rectangles; the crowd keeps its
	// negative id; padding rows stay 0.
	wantIDs := []int32{1, 2, 1, -2, 0}
	wantBoxes := []float32{10, 20, 20, 40, 30, 5, 34, 9, 40, 40, 60, 60, 0, 0, 2, 2, 0, 0, 0, 0}
	if !reflect.DeepEqual(b.GTClassIDs, wantIDs) || !reflect.DeepEqual(b.GTBoxes, wantBoxes) {
		t.Fatalf("ids %v boxes %v", b.GTClassIDs, b.GTBoxes)
	}
	// Full rectangles make all-true mini masks; the padding instance none.
	for q := 0; q < 64; q++ {
		for k := 0; k < 5; k++ {
			if got := b.GTMasks[q*5+k]; got != (k < 4) {
				t.Fatalf("mini mask pixel %d instance %d = %v", q, k, got)
			}
		}
	}
	wantMeta := []float32{3, 64, 64, 3, 64, 64, 3, 0, 0, 64, 64, 1, 1, 1, 1}
	if !reflect.DeepEqual(b.ImageMeta, wantMeta) {
		t.Fatalf("meta %v", b.ImageMeta)
	}
	// Pixel (y=1, x=2) of writePNG: R = 14, G = 5, B = 3.
	o := (1*64 + 2) * 3
	if b.Image[o] != float32(14-123.7) || b.Image[o+1] != float32(5-116.8) || b.Image[o+2] != float32(3-103.9) {
		t.Fatalf("molded pixel %v", b.Image[o:o+3])
	}
	if st.RPN.Positive < 3 || st.Instances != 4 {
		t.Fatalf("stats %+v", st)
	}

	// With MaxGTInstances 2 two of the four are dropped at random.
	g.MaxGTInstances = 2
	prep, _ = NewPreparer(g, cache)
	d = g.Dims()
	d.Size = 1
	b = batch.New(d)
	st, err = prep.Prepare(ex, 3, Seed(1, 0, 3), true, b, 0)
	if err != nil {
		t.Fatal(err)
	}
	if st.Dropped != 2 || st.Instances != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestNoInstancesSkipped(t *testing.T) {
	ds := synthetic(t, 2)
	ds[0].ClassIDs = []int32{-1, -2}
	g := smallGeometry()
	cache, _ := newCache(g)
	prep, _ := NewPreparer(g, cache)
	d := g.Dims()
	d.Size = 1
	_, err := prep.Prepare(ds[0], 0, Seed(1, 0, 0), false, batch.New(d), 0)
	if !errors.Is(err, ErrNoInstances) {
		t.Fatalf("crowd-only image: %v", err)
	}
}

func TestPaintMatchesDecode(t *testing.T) {
	masks := [][]bool{
		rect(5, 4, 1, 1, 3, 3),
		rect(5, 4, 0, 0, 5, 4),
		rect(5, 4, 3, 0, 5, 2),
		{true, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, true},
	}
	for i, m := range masks {
		r, err := mask.Encode(m, 5, 4)
		if err != nil {
			t.Fatal(err)
		}
		full := make([]bool, 20)
		for k := range full {
			full[k] = true // stale pixels outside the box stay; inside must be exact
		}
		box, err := paint(r, full)
		if err != nil {
			t.Fatal(err)
		}
		if want := image.ExtractBBox(m, 5, 4); box != want {
			t.Fatalf("mask %d: box %v, want %v", i, box, want)
		}
		for y := box[0]; y < box[2]; y++ {
			for x := box[1]; x < box[3]; x++ {
				if full[y*4+x] != m[y*4+x] {
					t.Fatalf("mask %d pixel (%d,%d) = %v", i, y, x, full[y*4+x])
				}
			}
		}
	}
	if _, err := paint(mask.RLE{H: 2, W: 2, Counts: []uint32{1}}, make([]bool, 4)); err == nil {
		t.Fatal("short counts accepted")
	}
}

func TestCancel(t *testing.T) {
	ds := synthetic(t, 4)
	ctx, cancel := context.WithCancel(context.Background())
	l, err := New(ctx, ds, Options{Geometry: smallGeometry(), Seed: 1, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.Next(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	for i := 0; i < 10; i++ {
		if _, _, err = l.Next(ctx); err != nil {
			break
		}
	}
	if !errors.Is(err, context.Canceled) && err != io.EOF {
		t.Fatalf("after cancel: %v", err)
	}
	l.Close() // must not hang
	if _, _, err := l.Next(context.Background()); err == nil {
		t.Fatal("Next after Close succeeded")
	}
}

func TestGeometryDims(t *testing.T) {
	g := smallGeometry()
	d := g.Dims()
	// 64²: (16² + 8² + 4²) × 3 anchors; mini masks 8×8.
	want := batch.Dims{Size: 2, Height: 64, Width: 64, NumClasses: 3, Anchors: 3 * (256 + 64 + 16), RPNTrainAnchors: 32, MaxGTInstances: 2, MaskHeight: 8, MaskWidth: 8}
	if d != want {
		t.Fatalf("dims %+v, want %+v", d, want)
	}
	g.UseMiniMask = false
	if d := g.Dims(); d.MaskHeight != 64 || d.MaskWidth != 64 {
		t.Fatalf("full masks: %+v", d)
	}
	g.Resize.Mode = "stretch"
	if err := g.Validate(); err == nil {
		t.Fatal("unknown resize mode accepted")
	}
}
