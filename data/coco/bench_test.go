package coco

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/graftrain/graftrain/internal/fixtures"
)

// BenchmarkRead decodes the 100-image COCO val2014 fixture (polygons and
// uncompressed RLEs) from memory; MB/s is the reader's throughput.
func BenchmarkRead(b *testing.B) {
	p := fixtures.Path(b, "coco_val2014_100/instances_val2014_100.json")
	data, err := os.ReadFile(p)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Read(context.Background(), bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNewDataset builds the training view of the fixture, which
// rasterises every annotation once.
func BenchmarkNewDataset(b *testing.B) {
	f, _ := readFixture(b)
	b.ResetTimer()
	for b.Loop() {
		if _, err := NewDataset(context.Background(), f, "/data", Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(f.Annotations)), "ns/annotation")
}
