package image_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/graftrain/graftrain/data/image"
	"github.com/graftrain/graftrain/internal/npytest"
)

// The goldens under testdata/reference come from tools/reference/gen.py,
// which runs matterport's resize_image, resize_mask, extract_bboxes,
// minimize_mask, mold_image and compose_image_meta with numpy, scipy,
// scikit-image and Pillow themselves.
const refDir = "testdata/reference"

type refManifest struct {
	Versions map[string]string `json:"versions"`
	Decode   []struct {
		File   string `json:"file"`
		Golden string `json:"golden"`
	} `json:"decode"`
	Resize        []resizeCase `json:"resize"`
	MeanPixel     [3]float64   `json:"mean_pixel"`
	MiniMaskShape [2]int       `json:"mini_mask_shape"`
	MetaImageID   int          `json:"meta_image_id"`
	MetaClasses   int          `json:"meta_num_classes"`
}

// resizeCase is one resize_image case: its settings and matterport's results.
type resizeCase struct {
	Name        string   `json:"name"`
	Source      string   `json:"source"`
	MinDim      int      `json:"min_dim"`
	MaxDim      int      `json:"max_dim"`
	MinScale    float64  `json:"min_scale"`
	Mode        string   `json:"mode"`
	CropOffset  []int    `json:"crop_offset"`
	Scale       float64  `json:"scale"`
	ScaledShape [2]int   `json:"scaled_shape"`
	Window      [4]int   `json:"window"`
	Padding     [][2]int `json:"padding"`
	Crop        []int    `json:"crop"`
	OutShape    [3]int   `json:"out_shape"`
	SourceBoxes [][4]int `json:"source_boxes"`
	Kept        []bool   `json:"kept"`
	HasZoom     bool     `json:"has_zoom"`
	HasMolded   bool     `json:"has_molded"`
}

func loadRefManifest(t *testing.T, dir string) *refManifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m refManifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

// refRGB loads a uint8 H×W×3 golden as an RGB image.
func refRGB(t *testing.T, path string) *image.RGB {
	t.Helper()
	a := npytest.Load(t, path)
	if len(a.Shape) != 3 || a.Shape[2] != 3 {
		t.Fatalf("%s: shape %v, want H×W×3", path, a.Shape)
	}
	return &image.RGB{H: a.Shape[0], W: a.Shape[1], Pix: a.Uint8(t)}
}

// diffRGB fails t at the first pixel where got differs from want.
func diffRGB(t *testing.T, what string, got, want *image.RGB) {
	t.Helper()
	if got.H != want.H || got.W != want.W {
		t.Fatalf("%s: %d×%d, want %d×%d", what, got.H, got.W, want.H, want.W)
	}
	n, first := 0, -1
	for i := range want.Pix {
		if got.Pix[i] != want.Pix[i] {
			if first < 0 {
				first = i
			}
			n++
		}
	}
	if n > 0 {
		p := first / 3
		t.Errorf("%s: %d of %d values differ; first at (y=%d, x=%d, c=%d): got %d, want %d",
			what, n, len(want.Pix), p/want.W, p%want.W, first%3, got.Pix[first], want.Pix[first])
	}
}

func TestReferenceDecode(t *testing.T) {
	m := loadRefManifest(t, refDir)
	for _, d := range m.Decode {
		t.Run(d.File, func(t *testing.T) {
			if strings.HasSuffix(d.File, ".jpg") && !image.BitExactJPEG {
				t.Skip("JPEG decoding without libjpeg-turbo (CGO_ENABLED=0) is not bit-exact with Pillow")
			}
			got, err := image.DecodeFile(filepath.Join(refDir, d.File))
			if err != nil {
				t.Fatal(err)
			}
			diffRGB(t, "decoded "+d.File, got, refRGB(t, filepath.Join(refDir, d.Golden)))
		})
	}
}

func TestReferenceResize(t *testing.T) {
	m := loadRefManifest(t, refDir)
	goldenOf := map[string]string{}
	for _, d := range m.Decode {
		goldenOf[d.File] = d.Golden
	}
	for _, c := range m.Resize {
		t.Run(c.Name, func(t *testing.T) {
			// The source is Pillow's decode, so this test does not depend on
			// the JPEG decoder.
			src := refRGB(t, filepath.Join(refDir, goldenOf[c.Source]))
			g, out := checkResize(t, refDir, c, src, m.MiniMaskShape)
			if c.HasMolded {
				want := npytest.Load(t, filepath.Join(refDir, c.Name+".molded.npy")).Float32(t)
				got := make([]float32, len(want))
				image.Mold(got, out, m.MeanPixel)
				sameFloat32(t, "mold_image", got, want)
				wantFlip := npytest.Load(t, filepath.Join(refDir, c.Name+".molded_flip.npy")).Float32(t)
				image.MoldFlipped(got, out, m.MeanPixel)
				sameFloat32(t, "mold_image(np.fliplr)", got, wantFlip)
			}

			// matterport's meta is int64 when the scale is the int 1, float64 otherwise.
			wantMeta := npytest.Load(t, filepath.Join(refDir, c.Name+".meta.npy")).Number(t)
			active := make([]bool, m.MetaClasses)
			for i := range active {
				active[i] = true
			}
			gotMeta := make([]float32, image.MetaLength(m.MetaClasses))
			image.ComposeMeta(gotMeta, m.MetaImageID, g, active)
			if len(gotMeta) != len(wantMeta) {
				t.Fatalf("compose_image_meta: length %d, want %d", len(gotMeta), len(wantMeta))
			}
			for i := range wantMeta {
				if gotMeta[i] != float32(wantMeta[i]) {
					t.Errorf("compose_image_meta [%d]: got %v, want %v", i, gotMeta[i], float32(wantMeta[i]))
				}
			}
		})
	}
}

// TestReferenceRandom sweeps random images, sizes and resize settings (every
// mode, sizes down to 1 pixel) through the Python reference when Debian's
// python3 with numpy, scipy and scikit-image is installed.
func TestReferenceRandom(t *testing.T) {
	dir := npytest.RandomCases(t, "image", 20261128, 120)
	m := loadRefManifest(t, dir)
	if len(m.Resize) < 60 {
		t.Fatalf("only %d random cases", len(m.Resize))
	}
	for _, c := range m.Resize {
		t.Run(fmt.Sprintf("%s_%s_%d_%d_%g", c.Name, c.Mode, c.MinDim, c.MaxDim, c.MinScale), func(t *testing.T) {
			checkResize(t, dir, c, refRGB(t, filepath.Join(dir, c.Name+".src.npy")), m.MiniMaskShape)
		})
	}
}

// checkResize runs one case through Plan, Zoom, Apply, PlaceMask (plain and
// flipped), ExtractBBox and MiniMask, comparing with the goldens in dir, and
// returns the geometry and the resized image.
func checkResize(t *testing.T, dir string, c resizeCase, src *image.RGB, mini [2]int) (image.Geometry, *image.RGB) {
	t.Helper()
	cfg := image.ResizeConfig{MinDim: c.MinDim, MaxDim: c.MaxDim, MinScale: c.MinScale, Mode: c.Mode}
	g, err := image.Plan(cfg, src.H, src.W, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if c.CropOffset != nil {
		// matterport draws the offset with random.randint; the golden fixes it.
		g.Crop[0], g.Crop[1] = c.CropOffset[0], c.CropOffset[1]
	}
	checkGeometry(t, g, c.Scale, c.ScaledShape, c.Window, c.Padding, c.Crop, c.OutShape)
	var r image.Resizer
	if c.HasZoom {
		z := image.NewRGB(c.ScaledShape[0], c.ScaledShape[1])
		r.Zoom(src, z)
		diffRGB(t, "zoom", z, refRGB(t, filepath.Join(dir, c.Name+".zoom.npy")))
	}
	out := image.NewRGB(g.OutH, g.OutW)
	if err := r.Apply(src, g, out); err != nil {
		t.Fatal(err)
	}
	diffRGB(t, "resize_image", out, refRGB(t, filepath.Join(dir, c.Name+".image.npy")))
	checkMasks(t, &r, dir, c.Name, g, c.SourceBoxes, c.Kept, mini, false)
	if _, err := os.Stat(filepath.Join(dir, c.Name+".boxes_flip.npy")); err == nil {
		checkMasks(t, &r, dir, c.Name, g, c.SourceBoxes, c.Kept, mini, true)
	}
	return g, out
}

func checkGeometry(t *testing.T, g image.Geometry, scale float64, scaled [2]int, window [4]int, padding [][2]int, crop []int, out [3]int) {
	t.Helper()
	if g.Scale != scale {
		t.Errorf("scale %v, want %v", g.Scale, scale)
	}
	if g.ScaledH != scaled[0] || g.ScaledW != scaled[1] {
		t.Errorf("resized to %d×%d, want %d×%d", g.ScaledH, g.ScaledW, scaled[0], scaled[1])
	}
	if g.Window != window {
		t.Errorf("window %v, want %v", g.Window, window)
	}
	if pad := [4]int{padding[0][0], padding[0][1], padding[1][0], padding[1][1]}; !g.Cropped && g.Pad != pad {
		t.Errorf("padding %v, want %v", g.Pad, pad)
	}
	if (crop != nil) != g.Cropped {
		t.Errorf("cropped %v, want %v", g.Cropped, crop != nil)
	} else if crop != nil && g.Crop != [4]int{crop[0], crop[1], crop[2], crop[3]} {
		t.Errorf("crop %v, want %v", g.Crop, crop)
	}
	if g.OutH != out[0] || g.OutW != out[1] {
		t.Errorf("output %d×%d, want %d×%d", g.OutH, g.OutW, out[0], out[1])
	}
}

// channel returns channel i of an H×W×N golden as a row-major H×W mask.
func channel(a []bool, h, w, n, i int) []bool {
	m := make([]bool, h*w)
	for p := range m {
		m[p] = a[p*n+i]
	}
	return m
}

func sameFloat32(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s [%d]: got %v, want %v", what, i, got[i], want[i])
		}
	}
}

// checkMasks compares resize_mask, extract_bboxes and minimize_mask, after
// load_image_gt's np.fliplr when flip is set.
func checkMasks(t *testing.T, r *image.Resizer, dir, name string, g image.Geometry, srcBoxes [][4]int, kept []bool, mini [2]int, flip bool) {
	t.Helper()
	suffix := ""
	if flip {
		suffix = "_flip"
	}
	srcA := npytest.Load(t, filepath.Join(dir, name+".masks.npy"))
	resA := npytest.Load(t, filepath.Join(dir, name+".rmasks.npy"))
	boxes := npytest.Load(t, filepath.Join(dir, name+".boxes"+suffix+".npy")).Int(t)
	miniA := npytest.Load(t, filepath.Join(dir, name+".mini"+suffix+".npy"))
	src, res, minis := srcA.Bool(t), resA.Bool(t), miniA.Bool(t)
	n := srcA.Shape[2]
	rh, rw := resA.Shape[0], resA.Shape[1]
	nMini := miniA.Shape[2]
	j := 0
	for i := 0; i < n; i++ {
		m := channel(src, g.OrigH, g.OrigW, n, i)
		box := image.ExtractBBox(m, g.OrigH, g.OrigW)
		if box != srcBoxes[i] {
			t.Errorf("instance %d: extract_bboxes of the source %v, want %v", i, box, srcBoxes[i])
		}
		p, ok := r.PlaceMask(m, box, g, flip, nil)
		if ok != kept[i] {
			t.Errorf("instance %d (flip %v): kept %v after resize_mask, want %v", i, flip, ok, kept[i])
			continue
		}
		want := [4]int{boxes[4*i], boxes[4*i+1], boxes[4*i+2], boxes[4*i+3]}
		if !ok {
			continue
		}
		if p.Box != want {
			t.Errorf("instance %d (flip %v): box %v after resize_mask, want %v", i, flip, p.Box, want)
			continue
		}
		full := channel(res, rh, rw, n, i)
		for y := p.Box[0]; y < p.Box[2]; y++ {
			for x := p.Box[1]; x < p.Box[3]; x++ {
				sx := x
				if flip {
					sx = rw - 1 - x // np.fliplr of the golden
				}
				if got := p.Pix[(y-p.Box[0])*p.W+(x-p.Box[1])]; got != full[y*rw+sx] {
					t.Fatalf("instance %d (flip %v): resize_mask pixel (%d, %d) = %v, want %v", i, flip, y, x, got, full[y*rw+sx])
				}
			}
		}
		if j >= nMini {
			t.Fatalf("more kept instances than minimize_mask produced (%d)", nMini)
		}
		dst := make([]bool, mini[0]*mini[1])
		r.MiniMask(p.Pix, p.H, p.W, mini[0], mini[1], dst)
		wantMini := channel(minis, mini[0], mini[1], nMini, j)
		for k := range dst {
			if dst[k] != wantMini[k] {
				t.Errorf("instance %d (flip %v): minimize_mask pixel (%d, %d) = %v, want %v", i, flip, k/mini[1], k%mini[1], dst[k], wantMini[k])
				break
			}
		}
		j++
	}
}
