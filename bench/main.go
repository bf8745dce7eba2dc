// Command bench measures the data pipeline on synthetic COCO-like images
// (640×480 JPEGs with 20 instances) at matterport's COCO geometry (1024²
// square, 81 classes, 56² mini masks): the time of each stage of one
// training sample on one core, then loader throughput for several worker
// counts.
//
//	go run ./bench [-images 32] [-samples 64] [-workers 1,2,0] [-seconds 5]
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/graftrain/graftrain/bench/synth"
	"github.com/graftrain/graftrain/data/anchors"
	"github.com/graftrain/graftrain/data/batch"
	"github.com/graftrain/graftrain/data/image"
	"github.com/graftrain/graftrain/data/loader"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func run() error {
	nImages := flag.Int("images", 32, "synthetic images to generate")
	nSamples := flag.Int("samples", 64, "samples timed on one core for the stage table")
	workersFlag := flag.String("workers", "1,2,0", "comma-separated worker counts for the loader table (0: all cores)")
	seconds := flag.Float64("seconds", 5, "seconds per loader measurement")
	batchSize := flag.Int("batch", 2, "images per batch in the loader table")
	flag.Parse()

	dir, err := os.MkdirTemp("", "graftrain-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ds, err := synth.Write(dir, *nImages, 20, 1)
	if err != nil {
		return err
	}
	fmt.Printf("machine: %s, %d cores (GOMAXPROCS %d), %s/%s, JPEG via libjpeg-turbo: %v\n",
		cpuModel(), runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, image.BitExactJPEG)
	fmt.Printf("data: %d synthetic %d×%d JPEGs, 20 instances each; geometry 1024² square, 261,888 anchors, 56² mini masks, flip on\n\n",
		*nImages, synth.Width, synth.Height)

	// Stage table: one Preparer, one goroutine.
	g := synth.COCOGeometry(1)
	cache, err := anchors.NewCache(g.Anchors)
	if err != nil {
		return err
	}
	prep, err := loader.NewPreparer(g, cache)
	if err != nil {
		return err
	}
	b := batch.New(g.Dims())
	var sum loader.StageTimes
	best := time.Duration(1 << 62)
	for i := 0; i < *nSamples+2; i++ {
		st, err := prep.Prepare(ds[i%len(ds)], i%len(ds), loader.Seed(1, 0, i), true, b, 0)
		if err != nil {
			return err
		}
		if i < 2 {
			continue // warm-up: anchors, buffers
		}
		t := st.Time
		sum.Decode += t.Decode
		sum.Resize += t.Resize
		sum.Masks += t.Masks
		sum.RPN += t.RPN
		sum.Fill += t.Fill
		best = min(best, t.Total())
	}
	n := time.Duration(*nSamples)
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d/n)/1e6) }
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "stage (one core)\tmean ms\t")
	for _, r := range []struct {
		name string
		d    time.Duration
	}{
		{"decode JPEG", sum.Decode},
		{"resize + pad to 1024²", sum.Resize},
		{"masks: resize, place, boxes", sum.Masks},
		{"RPN targets", sum.RPN},
		{"mini masks, meta, mold", sum.Fill},
		{"whole sample", sum.Total()},
	} {
		fmt.Fprintf(tw, "%s\t%s\t\n", r.name, ms(r.d))
	}
	tw.Flush()
	fmt.Printf("fastest sample %.2f ms; %.1f images/s on one core\n\n", float64(best)/1e6, float64(n)*1e9/float64(sum.Total()))

	// Loader table.
	tw = tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "loader workers\tbatches\timages/s\timages/s per worker\t\n")
	seen := map[int]bool{}
	for _, f := range strings.Split(*workersFlag, ",") {
		w, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return fmt.Errorf("-workers %q: %v", *workersFlag, err)
		}
		if w <= 0 {
			w = runtime.GOMAXPROCS(0)
		}
		if seen[w] {
			continue
		}
		seen[w] = true
		l, err := loader.New(context.Background(), ds, loader.Options{Geometry: synth.COCOGeometry(*batchSize), Seed: 1, Workers: w, Shuffle: true, Augment: true, Prefetch: 4, Cache: cache})
		if err != nil {
			return err
		}
		// Warm up: fill the prefetch queue once.
		for range 2 {
			bt, _, err := l.Next(context.Background())
			if err != nil {
				return err
			}
			l.Recycle(bt)
		}
		start := time.Now()
		images, batches := 0, 0
		for time.Since(start).Seconds() < *seconds {
			bt, st, err := l.Next(context.Background())
			if err != nil {
				return err
			}
			images += st.Images
			batches++
			l.Recycle(bt)
		}
		el := time.Since(start).Seconds()
		l.Close()
		fmt.Fprintf(tw, "%d\t%d\t%.1f\t%.1f\t\n", w, batches, float64(images)/el, float64(images)/el/float64(w))
	}
	return tw.Flush()
}
