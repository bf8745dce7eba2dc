// Package synth writes COCO-like benchmark images: 640×480 JPEGs with
// textured content and elliptic instances, deterministic for a seed.
package synth

import (
	"bytes"
	"fmt"
	goimage "image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/graftrain/graftrain/data/anchors"
	"github.com/graftrain/graftrain/data/image"
	"github.com/graftrain/graftrain/data/loader"
	"github.com/graftrain/graftrain/data/mask"
	"github.com/graftrain/graftrain/data/rpn"
)

// Height and Width are the benchmark image size (a typical COCO image).
const Height, Width = 480, 640

// Dataset is an in-memory loader.Dataset.
type Dataset []loader.Example

// Len implements loader.Dataset.
func (d Dataset) Len() int { return len(d) }

// Example implements loader.Dataset.
func (d Dataset) Example(i int) (loader.Example, error) { return d[i], nil }

// Write writes n JPEGs (quality 90, 4:2:0) into dir, each with instances
// ellipses of random sizes (radii 4–84 by 4–104 pixels), and returns the
// dataset.
func Write(dir string, n, instances int, seed uint64) (Dataset, error) {
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	var ds Dataset
	const h, w = Height, Width
	for i := 0; i < n; i++ {
		m := goimage.NewRGBA(goimage.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				v := uint8(rng.IntN(24))
				m.SetRGBA(x, y, color.RGBA{uint8(x/3+i) + v, uint8(y/2) + v, uint8((x+y)/5) + v, 255})
			}
		}
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: 90}); err != nil {
			return nil, err
		}
		p := filepath.Join(dir, fmt.Sprintf("%06d.jpg", i))
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			return nil, err
		}
		ex := loader.Example{ImageID: int64(i + 1), Path: p, Height: h, Width: w}
		full := make([]bool, h*w)
		for k := 0; k < instances; k++ {
			ry, rx := 4+rng.Float64()*80, 4+rng.Float64()*100
			cy, cx := ry+rng.Float64()*(h-2*ry), rx+rng.Float64()*(w-2*rx)
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					dy, dx := (float64(y)-cy)/ry, (float64(x)-cx)/rx
					full[y*w+x] = dy*dy+dx*dx <= 1
				}
			}
			r, err := mask.Encode(full, h, w)
			if err != nil {
				return nil, err
			}
			ex.Masks = append(ex.Masks, r)
			ex.ClassIDs = append(ex.ClassIDs, int32(1+k%80))
		}
		ds = append(ds, ex)
	}
	return ds, nil
}

// COCOGeometry is matterport's COCO training geometry with batchSize
// images: 1024² square images, 81 classes, pyramid anchors 32–512, 256 RPN
// targets, 100 instances, 56² mini masks. The benchmarks and the numpy
// reference (tools/reference/bench.py) all use it.
func COCOGeometry(batchSize int) loader.Geometry {
	return loader.Geometry{
		BatchSize: batchSize, NumClasses: 81,
		Resize:         image.ResizeConfig{MinDim: 800, MaxDim: 1024, Mode: image.ModeSquare},
		Anchors:        anchors.Config{Scales: []float64{32, 64, 128, 256, 512}, Ratios: []float64{0.5, 1, 2}, Strides: []int{4, 8, 16, 32, 64}, AnchorStride: 1},
		RPN:            rpn.Config{TrainAnchors: 256, StdDev: [4]float64{0.1, 0.1, 0.2, 0.2}},
		UseMiniMask:    true,
		MiniMask:       [2]int{56, 56},
		MeanPixel:      [3]float64{123.7, 116.8, 103.9},
		MaxGTInstances: 100,
	}
}
