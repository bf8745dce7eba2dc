package loader

import (
	"fmt"
	"image/png"
	"os"
	"path/filepath"

	"github.com/graftrain/graftrain/data/anchors"
	"github.com/graftrain/graftrain/data/batch"
	"github.com/graftrain/graftrain/data/image"
	"github.com/graftrain/graftrain/data/npy"
	"github.com/graftrain/graftrain/graphs"
)

// Dump writes batch b's seven contract inputs to dir as .npy files named
// after the inputs (input_image.npy, ...), anchors.npy (the pixel anchors
// y1 x1 y2 x2 as [B, A, 4] float32) and, when rgb is given, overlay.png of
// slot 0 (see Overlay). It returns the files written.
func Dump(dir string, b *batch.Batch, set *anchors.Set, rgb *image.RGB) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	shapes := b.Shapes()
	arrays := []struct {
		name string
		data any
	}{
		{graphs.InputImage, b.Image},
		{graphs.InputImageMeta, b.ImageMeta},
		{graphs.InputRPNMatch, b.RPNMatch},
		{graphs.InputRPNBBox, b.RPNBBox},
		{graphs.InputGTClassIDs, b.GTClassIDs},
		{graphs.InputGTBoxes, b.GTBoxes},
		{graphs.InputGTMasks, b.GTMasks},
	}
	var files []string
	for _, a := range arrays {
		shape := make([]int, len(shapes[a.name]))
		for i, v := range shapes[a.name] {
			shape[i] = int(v)
		}
		p := filepath.Join(dir, a.name+".npy")
		if err := npy.WriteFile(p, shape, a.data); err != nil {
			return files, err
		}
		files = append(files, p)
	}
	anc := make([]float32, 0, b.Size*set.Len()*4)
	for range b.Size {
		for _, bx := range set.Boxes {
			anc = append(anc, float32(bx[0]), float32(bx[1]), float32(bx[2]), float32(bx[3]))
		}
	}
	p := filepath.Join(dir, "anchors.npy")
	if err := npy.WriteFile(p, []int{b.Size, set.Len(), 4}, anc); err != nil {
		return files, err
	}
	files = append(files, p)
	if rgb != nil {
		p := filepath.Join(dir, "overlay.png")
		f, err := os.Create(p)
		if err != nil {
			return files, err
		}
		if err := png.Encode(f, Overlay(rgb, b, 0, set)); err != nil {
			f.Close()
			return files, fmt.Errorf("write %s: %w", p, err)
		}
		if err := f.Close(); err != nil {
			return files, err
		}
		files = append(files, p)
	}
	return files, nil
}
