package standin

import (
	"context"
	"io"
	"math/rand/v2"

	"github.com/graftrain/graftrain/data/batch"
	"github.com/graftrain/graftrain/train"
)

// Data is a synthetic split of N batches whose contents depend only on
// (seed, epoch, index): the same position always gives the same batch. For
// tests and benchmarks of the loop without a dataset on disk.
type Data struct {
	Dims batch.Dims
	N    int64 // batches per epoch
	Seed int64
	// Fill, when false, leaves the image tensor zero (only the small
	// tensors are drawn), for benchmarks of the loop alone.
	Fill bool
}

var _ train.Dataset = (*Data)(nil)

// Len is the number of batches per epoch.
func (d *Data) Len() int64 { return d.N }

// Open returns the epoch's batches from pos.Index on.
func (d *Data) Open(ctx context.Context, pos train.DataPosition) (train.Batches, error) {
	return &dataIter{d: d, epoch: pos.Epoch, i: pos.Index, b: batch.New(d.Dims)}, nil
}

type dataIter struct {
	d     *Data
	epoch int
	i     int64
	b     *batch.Batch
}

func (it *dataIter) Next(ctx context.Context) (*batch.Batch, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if it.i >= it.d.N {
		return nil, io.EOF
	}
	b := it.b
	rng := rand.New(rand.NewPCG(uint64(it.d.Seed), uint64(it.epoch)<<32|uint64(it.i)))
	for j := range b.ImageIDs {
		b.ImageIDs[j] = int64(it.epoch)*1_000_000 + it.i*int64(b.Size) + int64(j) + 1
	}
	if it.d.Fill {
		for j := 0; j < len(b.Image); j += 3 {
			b.Image[j] = float32(rng.NormFloat64() * 40)
		}
	}
	for j := range b.RPNMatch {
		b.RPNMatch[j] = int32(rng.IntN(3)) - 1
	}
	for j := range b.RPNBBox {
		b.RPNBBox[j] = float32(rng.NormFloat64())
	}
	n := b.MaxGTInstances
	for j := range b.GTClassIDs {
		b.GTClassIDs[j] = 0
		if j%n < 1+rng.IntN(3) && b.NumClasses > 1 {
			b.GTClassIDs[j] = int32(1 + rng.IntN(b.NumClasses-1))
			y := rng.Float32() * float32(b.Height) / 2
			x := rng.Float32() * float32(b.Width) / 2
			copy(b.GTBoxes[4*j:4*j+4], []float32{y, x, y + float32(b.Height)/4, x + float32(b.Width)/4})
		}
	}
	it.i++
	return b, nil
}

func (it *dataIter) Close() error { return nil }
