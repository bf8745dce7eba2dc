package loader_test

import (
	"context"
	"runtime"
	"strconv"
	"testing"

	"github.com/graftrain/graftrain/bench/synth"
	"github.com/graftrain/graftrain/data/anchors"
	"github.com/graftrain/graftrain/data/batch"
	"github.com/graftrain/graftrain/data/image"
	"github.com/graftrain/graftrain/data/loader"
	"github.com/graftrain/graftrain/data/rpn"
)

// matterportGeometry is matterport's COCO training geometry: 1024² square
// images, 81 classes, 100 instances, 56² mini masks.
func matterportGeometry(batchSize int) loader.Geometry {
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

func cocoLike(tb testing.TB, n int) synth.Dataset {
	tb.Helper()
	ds, err := synth.Write(tb.TempDir(), n, 20, 11)
	if err != nil {
		tb.Fatal(err)
	}
	return ds
}

// BenchmarkSample1024 is one whole training sample: JPEG file to all seven
// tensors of a 1024² slot (20 instances, flip on).
func BenchmarkSample1024(b *testing.B) {
	ds := cocoLike(b, 2)
	g := matterportGeometry(1)
	cache, _ := anchors.NewCache(g.Anchors)
	p, err := loader.NewPreparer(g, cache)
	if err != nil {
		b.Fatal(err)
	}
	bt := batch.New(g.Dims())
	i := 0
	for b.Loop() {
		if _, err := p.Prepare(ds[i%2], i%2, loader.Seed(1, 0, i), true, bt, 0); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkLoader measures batches of 2 images from the loader with 1, 2
// and all cores as workers; images/s is reported.
func BenchmarkLoader(b *testing.B) {
	ds := cocoLike(b, 8)
	workers := []int{1, 2}
	if n := runtime.GOMAXPROCS(0); n > 2 {
		workers = append(workers, n)
	}
	for _, w := range workers {
		b.Run("workers="+strconv.Itoa(w), func(b *testing.B) {
			l, err := loader.New(context.Background(), ds, loader.Options{Geometry: matterportGeometry(2), Seed: 1, Workers: w, Shuffle: true, Augment: true, Prefetch: 2})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			images := 0
			for b.Loop() {
				bt, st, err := l.Next(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				images += st.Images
				l.Recycle(bt)
			}
			b.ReportMetric(float64(images)/b.Elapsed().Seconds(), "images/s")
		})
	}
}
