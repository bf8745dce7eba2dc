package shapes

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/graftrain/graftrain/data/coco"
	examples "github.com/graftrain/graftrain/examples/shapes"
)

// The committed dataset is exactly what the generator writes.
func TestCommittedMatchesGenerator(t *testing.T) {
	files, err := Files(context.Background(), Default())
	if err != nil {
		t.Fatal(err)
	}
	var committed []string
	err = fs.WalkDir(examples.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		committed = append(committed, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var generated []string
	for p := range files {
		generated = append(generated, p)
	}
	slices.Sort(generated)
	if !slices.Equal(committed, generated) {
		t.Fatalf("committed files %v\ngenerated %v\nrun: go run ./tools/genshapes", committed, generated)
	}
	for _, p := range generated {
		b, err := fs.ReadFile(examples.FS, p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, files[p]) {
			t.Errorf("examples/shapes/%s differs from the generator's output; run: go run ./tools/genshapes", p)
		}
	}
}

func TestDeterministic(t *testing.T) {
	cfg := Config{Seed: 99, Train: 3, Val: 2}
	a, err := Files(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Files(context.Background(), cfg)
	if len(a) != 7 || len(a) != len(b) {
		t.Fatalf("%d and %d files, want 7", len(a), len(b))
	}
	for p := range a {
		if !bytes.Equal(a[p], b[p]) {
			t.Errorf("%s differs between two runs", p)
		}
	}
}

// Every annotation's mask covers exactly the pixels painted in its colour:
// checked on the losslessly stored PNG images.
func TestAnnotationsMatchPixels(t *testing.T) {
	ctx := context.Background()
	for _, split := range []string{"train", "val"} {
		b, err := fs.ReadFile(examples.FS, "instances_"+split+".json")
		if err != nil {
			t.Fatal(err)
		}
		f, err := coco.Read(ctx, bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		d, err := coco.NewDataset(ctx, f, ".", coco.Options{})
		if err != nil {
			t.Fatal(err)
		}
		// The third image has only a crowd region, the fifth nothing.
		if d.Stats.SkippedImages != 2 {
			t.Errorf("%s: %d images skipped, want 2", split, d.Stats.SkippedImages)
		}
		if got := strings.Join(d.ClassNames(), ","); got != "BG,square,circle,triangle" {
			t.Errorf("classes %s", got)
		}
		pngs := 0
		for _, s := range d.Samples {
			if !strings.HasSuffix(s.Path, ".png") {
				continue
			}
			pngs++
			raw, err := fs.ReadFile(examples.FS, s.Path)
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			masks, _, err := s.Masks()
			if err != nil {
				t.Fatal(err)
			}
			for i, m := range masks {
				checkPainted(t, img, m, s.Width, s.ImageID, s.Instances[i].AnnotationID)
			}
		}
		if pngs == 0 {
			t.Errorf("%s: no PNG sample to check", split)
		}
	}
}

// checkPainted verifies that the pixels of m share one colour and that no
// pixel outside m has it (shapes are kept apart and their colours far from
// the background's).
func checkPainted(t *testing.T, img image.Image, m []bool, w int, imageID, annID int64) {
	t.Helper()
	var want color.Color
	for p, on := range m {
		if !on {
			continue
		}
		c := img.At(p%w, p/w)
		if want == nil {
			want = c
		} else if c != want {
			t.Errorf("image %d annotation %d: pixel (%d,%d) is %v, want %v", imageID, annID, p%w, p/w, c, want)
			return
		}
	}
	for p, on := range m {
		if !on && img.At(p%w, p/w) == want {
			t.Errorf("image %d annotation %d: pixel (%d,%d) outside the mask has its colour %v", imageID, annID, p%w, p/w, want)
			return
		}
	}
}

// Loading the committed splits from disk the way a training config names
// them resolves every kept image to an existing file.
func TestLoadCommitted(t *testing.T) {
	for _, tc := range []struct {
		split           string
		samples, crowds int
	}{
		// Each split's crowd-only image is skipped with its crowd region.
		{"train", 38, 9 - 1}, {"val", 8, 2 - 1},
	} {
		ann := filepath.Join("..", "..", "examples", "shapes", "instances_"+tc.split+".json")
		d, err := coco.Load(context.Background(), ann, "", coco.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Samples) != tc.samples || d.Stats.CrowdInstances != tc.crowds {
			t.Errorf("%s: %d samples, %d crowds; want %d, %d", tc.split, len(d.Samples), d.Stats.CrowdInstances, tc.samples, tc.crowds)
		}
		for _, s := range d.Samples {
			if _, err := os.Stat(s.Path); err != nil {
				t.Errorf("%s: image %d: %v", tc.split, s.ImageID, err)
			}
		}
	}
}
