package train

import (
	"context"

	"github.com/graftrain/graftrain/data/batch"
)

// DataPosition is where a split's batch sequence stands: the data epoch
// (each has its own shuffle, derived from Seed) and how far into it the
// consumed batches reach, in the dataset's own unit (batches for a plain
// Dataset, images for the data loader, which reports it as a Positioner). Saved with every checkpoint so a resumed
// run sees exactly the batches the uninterrupted run would have seen.
type DataPosition struct {
	Epoch int   `json:"epoch"`
	Index int64 `json:"index"`
	Seed  int64 `json:"seed"`
}

// Dataset is the loop's view of a split. The data loader implements it;
// it must be deterministic given the position (the same batches in the same
// order whatever the worker count).
type Dataset interface {
	// Open returns the batches of data epoch pos.Epoch from batch pos.Index on.
	Open(ctx context.Context, pos DataPosition) (Batches, error)
	// Len is the number of batches in one epoch.
	Len() int64
}

// Batches iterates one epoch. Next returns io.EOF after the last batch.
type Batches interface {
	Next(ctx context.Context) (*batch.Batch, error)
	Close() error
}

// Positioner is implemented by iterators that know their position (the
// data loader counts images and moves to the next epoch by itself): after
// each batch the loop records Position instead of counting batches, and
// such an iterator need never return io.EOF.
type Positioner interface {
	Position() DataPosition
}

// Releaser is implemented by iterators that reuse batches: the loop hands
// each batch back once every hook has seen it.
type Releaser interface {
	Release(*batch.Batch)
}
