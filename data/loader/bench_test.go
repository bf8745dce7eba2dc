package loader_test

import (
	"context"
	"runtime"
	"strconv"
	"testing"

	"github.com/graftrain/graftrain/bench/synth"
	"github.com/graftrain/graftrain/data/anchors"
	"github.com/graftrain/graftrain/data/batch"
	"github.com/graftrain/graftrain/data/loader"
)

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
	g := synth.COCOGeometry(1)
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
			l, err := loader.New(context.Background(), ds, loader.Options{Geometry: synth.COCOGeometry(2), Seed: 1, Workers: w, Shuffle: true, Augment: true, Prefetch: 2})
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
