package reference_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/graftrain/graftrain/bench/synth"
	"github.com/graftrain/graftrain/data/anchors"
	"github.com/graftrain/graftrain/data/batch"
	"github.com/graftrain/graftrain/data/loader"
	"github.com/graftrain/graftrain/data/mask"
	"github.com/graftrain/graftrain/data/npy"
	"github.com/graftrain/graftrain/data/reference"
)

var script = filepath.Join("..", "..", "tools", "reference", "bench.py")

// samples writes n 640×480 JPEGs with 20 instances each and, for the Python
// side, their masks as H×W×N bool and class ids as .npy.
func samples(tb testing.TB, n int) (synth.Dataset, []reference.Sample) {
	tb.Helper()
	ds, err := synth.Write(tb.TempDir(), n, 20, 5)
	if err != nil {
		tb.Fatal(err)
	}
	return ds, writeSamples(tb, ds)
}

// writeSamples writes each example's masks and class ids as .npy.
func writeSamples(tb testing.TB, ds synth.Dataset) []reference.Sample {
	tb.Helper()
	dir := tb.TempDir()
	var out []reference.Sample
	for i, ex := range ds {
		h, w, k := ex.Height, ex.Width, len(ex.Masks)
		stack := make([]bool, h*w*k)
		for j, r := range ex.Masks {
			m, err := mask.Decode(r)
			if err != nil {
				tb.Fatal(err)
			}
			for p, v := range m {
				stack[p*k+j] = v
			}
		}
		s := reference.Sample{
			Image:    ex.Path,
			Masks:    filepath.Join(dir, fmt.Sprintf("masks%d.npy", i)),
			ClassIDs: filepath.Join(dir, fmt.Sprintf("ids%d.npy", i)),
		}
		if err := npy.WriteFile(s.Masks, []int{h, w, k}, stack); err != nil {
			tb.Fatal(err)
		}
		if err := npy.WriteFile(s.ClassIDs, []int{k}, ex.ClassIDs); err != nil {
			tb.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// BenchmarkVersusNumpy times one whole 1024² training sample (JPEG file to
// the seven tensors, no flip) in Go on one core, then matterport's numpy
// load_image_gt + build_rpn_targets on the same images, and reports both and
// their ratio. The Go side also decodes the COCO RLE masks, which the numpy
// side gets ready-made.
func BenchmarkVersusNumpy(b *testing.B) {
	ctx := context.Background()
	python := reference.DefaultPython
	if err := reference.Check(ctx, python); err != nil {
		b.Skip(err)
	}
	const n = 4
	ds, refs := samples(b, n)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	g := synth.COCOGeometry(1)
	cache, err := anchors.NewCache(g.Anchors)
	if err != nil {
		b.Fatal(err)
	}
	p, err := loader.NewPreparer(g, cache)
	if err != nil {
		b.Fatal(err)
	}
	bt := batch.New(g.Dims())
	i := 0
	for b.Loop() {
		if _, err := p.Prepare(ds[i%n], i%n, loader.Seed(1, 0, i), false, bt, 0); err != nil {
			b.Fatal(err)
		}
		i++
	}
	goMs := float64(b.Elapsed()) / float64(time.Millisecond) / float64(i)

	t, err := reference.Bench(ctx, python, script, 2, refs)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(goMs, "go-ms/img")
	b.ReportMetric(t.MsPerImage, "numpy-ms/img")
	b.ReportMetric(t.MsPerImage/goMs, "speedup")
	var sb strings.Builder
	fmt.Fprintf(&sb, "\n%-28s %10s\n", "stage (one core)", "ms/image")
	fmt.Fprintf(&sb, "%-28s %10.2f\n", "go: whole sample", goMs)
	stages := make([]string, 0, len(t.StagesMs))
	for k := range t.StagesMs {
		stages = append(stages, k)
	}
	sort.Strings(stages)
	for _, k := range stages {
		fmt.Fprintf(&sb, "%-28s %10.2f\n", "numpy: "+k, t.StagesMs[k])
	}
	fmt.Fprintf(&sb, "%-28s %10.2f\n", "numpy: whole sample", t.MsPerImage)
	fmt.Fprintf(&sb, "%-28s %9.1f×\n", "go speedup", t.MsPerImage/goMs)
	fmt.Fprintf(&sb, "(%d images of 640×480, 20 instances, 1024² square, %d anchors; %v)", n, t.Anchors, t.Versions)
	b.Log(sb.String())
}

// The helper must report a missing interpreter as unavailable, so callers
// skip instead of failing.
func TestCheckMissingInterpreter(t *testing.T) {
	err := reference.Check(context.Background(), filepath.Join(t.TempDir(), "no-python"))
	if !errors.Is(err, reference.ErrUnavailable) {
		t.Fatalf("Check = %v, want ErrUnavailable", err)
	}
}

func TestCheckDefault(t *testing.T) {
	if _, err := exec.LookPath(reference.DefaultPython); err != nil {
		t.Skip("no ", reference.DefaultPython)
	}
	if err := reference.Check(context.Background(), reference.DefaultPython); err != nil && !errors.Is(err, reference.ErrUnavailable) {
		t.Fatalf("Check = %v, want nil or ErrUnavailable", err)
	}
}
