package image

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"
)

// golden is one case written by testdata/golden.py with numpy, scipy and
// scikit-image following matterport's resize_image, resize_mask,
// extract_bboxes and minimize_mask.
type golden struct {
	H, W      int
	MinDim    int     `json:"min_dim"`
	MaxDim    int     `json:"max_dim"`
	MinScale  float64 `json:"min_scale"`
	Mode      string
	Instances int
	OutShape  []int `json:"out_shape"`
	Window    [4]int
	Scale     float64
	Kept      []bool
	Boxes     [][4]int
	MiniShape [2]int `json:"mini_shape"`
}

func readBin(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGoldenAgainstScikitImage(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.json")
	if len(files) == 0 {
		t.Fatal("no golden files in testdata (run golden.py)")
	}
	for _, f := range files {
		name := f[len("testdata/") : len(f)-len(".json")]
		if _, err := os.Stat(filepath.Join("testdata", name+".image.bin")); err != nil {
			continue // not a resize case
		}
		t.Run(name, func(t *testing.T) {
			var g golden
			if err := json.Unmarshal(readBin(t, f), &g); err != nil {
				t.Fatal(err)
			}
			base := filepath.Join("testdata", name)
			src := &RGB{H: g.H, W: g.W, Pix: readBin(t, base+".image.bin")}
			cfg := ResizeConfig{MinDim: g.MinDim, MaxDim: g.MaxDim, MinScale: g.MinScale, Mode: g.Mode}
			geo, err := Plan(cfg, g.H, g.W, nil)
			if err != nil {
				t.Fatal(err)
			}
			if geo.Window != g.Window || geo.Scale != g.Scale || geo.OutH != g.OutShape[0] || geo.OutW != g.OutShape[1] {
				t.Fatalf("geometry %+v, want window %v scale %v shape %v", geo, g.Window, g.Scale, g.OutShape)
			}
			var r Resizer
			dst := NewRGB(geo.OutH, geo.OutW)
			if err := r.Apply(src, geo, dst); err != nil {
				t.Fatal(err)
			}
			want := readBin(t, base+".out.bin")
			diff := 0
			for i := range want {
				if dst.Pix[i] != want[i] {
					if diff == 0 {
						t.Errorf("first differing value %d (pixel %d): got %d, want %d", i, i/3, dst.Pix[i], want[i])
					}
					diff++
				}
			}
			if diff > 0 {
				t.Fatalf("%d of %d values differ from scikit-image", diff, len(want))
			}

			masks := readBin(t, base+".masks.bin")
			mini := readBin(t, base+".mini.bin")
			n := g.Instances
			full := make([]bool, g.H*g.W)
			k := 0
			mh, mw := g.MiniShape[0], g.MiniShape[1]
			nk := len(g.Boxes)
			got := make([]bool, mh*mw)
			for i := 0; i < n; i++ {
				for p := range full {
					full[p] = masks[p*n+i] == 1
				}
				pl, ok := r.PlaceMask(full, ExtractBBox(full, g.H, g.W), geo, false, nil)
				if ok != g.Kept[i] {
					t.Fatalf("instance %d kept %v, want %v", i, ok, g.Kept[i])
				}
				if !ok {
					continue
				}
				if pl.Box != g.Boxes[k] {
					t.Fatalf("instance %d box %v, want %v", i, pl.Box, g.Boxes[k])
				}
				r.MiniMask(pl.Pix, pl.H, pl.W, mh, mw, got)
				for q := range got {
					if got[q] != (mini[q*nk+k] == 1) {
						t.Fatalf("instance %d mini mask pixel %d: got %v", i, q, got[q])
					}
				}
				k++
			}
		})
	}
}

// TestDecodeLikePillow checks the decoded pixels against Pillow's (written
// by testdata/pil_decode.py): bit-exact through libjpeg-turbo; Go's
// image/jpeg, the fallback without cgo, is shown to differ.
func TestDecodeLikePillow(t *testing.T) {
	var want struct {
		SHA256 map[string]string `json:"sha256"`
	}
	if err := json.Unmarshal(readBin(t, "testdata/pil_decode.json"), &want); err != nil {
		t.Fatal(err)
	}
	for name, sum := range want.SHA256 {
		data := readBin(t, filepath.Join("testdata", name))
		img, err := Decode(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		h := sha256.Sum256(img.Pix)
		exact := hex.EncodeToString(h[:]) == sum
		isJPEG := bytes.HasPrefix(data, []byte{0xFF, 0xD8})
		switch {
		case !isJPEG || BitExactJPEG:
			if !exact {
				t.Errorf("%s: pixels differ from Pillow's", name)
			}
		case exact:
			t.Logf("%s: Go's image/jpeg happens to match Pillow", name)
		}
	}
	if !BitExactJPEG {
		return
	}
	// The fallback decoder is not exact on 4:2:0 files.
	data := readBin(t, "testdata/jpeg420.jpg")
	m, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	goPix := FromImage(m).Pix
	turbo, _ := Decode(data)
	maxDiff := 0
	for i := range goPix {
		d := int(goPix[i]) - int(turbo.Pix[i])
		maxDiff = max(maxDiff, d, -d)
	}
	if maxDiff == 0 {
		t.Errorf("image/jpeg matched libjpeg-turbo on a 4:2:0 file; the documentation says it does not")
	}
	t.Logf("image/jpeg vs libjpeg-turbo on 4:2:0: max difference %d levels", maxDiff)
}
