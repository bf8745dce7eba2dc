package loader

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/rs/zerolog"

	"github.com/graftrain/graftrain/data/anchors"
	"github.com/graftrain/graftrain/data/batch"
)

// Position is where a loader is in its stream: the next image to consume
// is number Index of epoch Epoch's order, under Seed. Saved with a
// checkpoint, it resumes the exact stream.
type Position struct {
	Epoch int   `json:"epoch"`
	Index int   `json:"index"`
	Seed  int64 `json:"seed"`
}

// Options configure a Loader.
type Options struct {
	Geometry Geometry
	// Seed drives shuffling, augmentation and RPN sampling.
	Seed int64
	// Workers preparing images; 0: the number of cores.
	Workers int
	// Prefetch is the number of batches prepared ahead; 0: 2.
	Prefetch int
	// Shuffle reorders the images each epoch.
	Shuffle bool
	// Augment enables the horizontal flip.
	Augment bool
	// FailOnBadImage stops on an image that cannot be read instead of
	// skipping it.
	FailOnBadImage bool
	// Epochs stops after this many passes (the last batch may be partial);
	// 0 runs forever.
	Epochs int
	// Start is the position to begin at (its Seed is ignored).
	Start Position
	// Cache shares anchors between loaders; nil makes one.
	Cache *anchors.Cache
	// Log receives warnings about skipped images and dropped instances.
	Log zerolog.Logger
}

// Stats count what happened while assembling one batch.
type Stats struct {
	Images     int // images in the batch
	BadImages  int // images skipped because they could not be read
	Empty      int // images skipped without any non-crowd instance
	Vanished   int // instances lost in resizing
	Dropped    int // instances beyond MaxGTInstances
	Flipped    int
	Positives  int // positive anchors over the batch
	EpochEnded bool
	Time       StageTimes // summed over the batch's images
}

// Loader streams batches. Next may be called from one goroutine at a time.
type Loader struct {
	ds    Dataset
	opts  Options
	dims  batch.Dims
	cache *anchors.Cache

	pos    Position
	cancel context.CancelFunc
	out    chan result
	wg     sync.WaitGroup
	free   chan *batch.Batch
	closed bool
}

type result struct {
	b     *batch.Batch
	stats Stats
	pos   Position // position after this batch
	err   error
}

// New starts a loader over ds at opts.Start.
func New(ctx context.Context, ds Dataset, opts Options) (*Loader, error) {
	if ds.Len() == 0 {
		return nil, errors.New("loader: the dataset has no images")
	}
	if err := opts.Geometry.Validate(); err != nil {
		return nil, err
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.Prefetch <= 0 {
		opts.Prefetch = 2
	}
	cache := opts.Cache
	if cache == nil {
		var err error
		if cache, err = anchors.NewCache(opts.Geometry.Anchors); err != nil {
			return nil, err
		}
	}
	l := &Loader{ds: ds, opts: opts, dims: opts.Geometry.Dims(), cache: cache, free: make(chan *batch.Batch, opts.Prefetch+2)}
	if err := l.start(ctx, opts.Start); err != nil {
		return nil, err
	}
	return l, nil
}

// Dims are the loader's batch dimensions.
func (l *Loader) Dims() batch.Dims { return l.dims }

// Position is the position after the last batch Next returned.
func (l *Loader) Position() Position { return l.pos }

// Seek restarts the stream at p (p.Seed is ignored: the seed is fixed at
// New). Batches prepared ahead are discarded.
func (l *Loader) Seek(ctx context.Context, p Position) error {
	l.stop()
	return l.start(ctx, p)
}

// Recycle hands a batch back for reuse once the consumer is done with it.
func (l *Loader) Recycle(b *batch.Batch) {
	select {
	case l.free <- b:
	default:
	}
}

// Close stops the workers.
func (l *Loader) Close() {
	l.stop()
	l.closed = true
}

// Next returns the next batch, or io.EOF after the last epoch.
func (l *Loader) Next(ctx context.Context) (*batch.Batch, Stats, error) {
	if l.closed {
		return nil, Stats{}, errors.New("loader: closed")
	}
	select {
	case <-ctx.Done():
		return nil, Stats{}, ctx.Err()
	case r, ok := <-l.out:
		if !ok {
			return nil, Stats{}, io.EOF
		}
		if r.err != nil {
			return nil, r.stats, r.err
		}
		l.pos = r.pos
		return r.b, r.stats, nil
	}
}

func (l *Loader) stop() {
	if l.cancel != nil {
		l.cancel()
		for range l.out {
		}
		l.wg.Wait()
		l.cancel = nil
	}
}

// job is one image of the stream: sequence number, position and dataset
// index.
type job struct {
	seq   int
	epoch int
	at    int // index within the epoch order
	index int // dataset index
}

// done is a prepared image: its own one-image batch, or why it was
// skipped.
type done struct {
	job
	b     *batch.Batch
	st    SampleStats
	err   error
	fatal bool
}

func (l *Loader) order(epoch int) []int {
	n := l.ds.Len()
	if !l.opts.Shuffle {
		o := make([]int, n)
		for i := range o {
			o[i] = i
		}
		return o
	}
	return rand.New(rand.NewPCG(mix(uint64(l.opts.Seed)), mix(uint64(epoch)))).Perm(n)
}

func (l *Loader) start(parent context.Context, p Position) error {
	n := l.ds.Len()
	if p.Epoch < 0 || p.Index < 0 || p.Index > n {
		return fmt.Errorf("loader: position epoch %d index %d outside a dataset of %d images", p.Epoch, p.Index, n)
	}
	p.Seed = l.opts.Seed
	l.pos = p
	ctx, cancel := context.WithCancel(parent)
	l.cancel = cancel
	l.out = make(chan result, l.opts.Prefetch)
	B := l.dims.Size
	inflight := l.opts.Workers + l.opts.Prefetch*B
	jobs := make(chan job, l.opts.Workers)
	results := make(chan done, inflight)
	tokens := make(chan struct{}, inflight)
	samples := make(chan *batch.Batch, inflight+l.opts.Workers)
	one := l.dims
	one.Size = 1

	// Producer: positions in stream order.
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		defer close(jobs)
		seq := 0
		for e, at := p.Epoch, p.Index; l.opts.Epochs == 0 || e < l.opts.Epochs; e, at = e+1, 0 {
			ord := l.order(e)
			for ; at < n; at++ {
				select {
				case tokens <- struct{}{}:
				case <-ctx.Done():
					return
				}
				select {
				case jobs <- job{seq: seq, epoch: e, at: at, index: ord[at]}:
					seq++
				case <-ctx.Done():
					return
				}
			}
		}
	}()

	// Workers.
	var wwg sync.WaitGroup
	for range l.opts.Workers {
		wwg.Add(1)
		go func() {
			defer wwg.Done()
			prep, err := NewPreparer(l.opts.Geometry, l.cache)
			for j := range jobs {
				if ctx.Err() != nil {
					return
				}
				d := done{job: j}
				if err != nil {
					d.err, d.fatal = err, true
				} else {
					var sb *batch.Batch
					select {
					case sb = <-samples:
					default:
						sb = batch.New(one)
					}
					d.b = sb
					d.st, d.err, d.fatal = l.prepare(prep, j, sb)
				}
				select {
				case results <- d:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() { wwg.Wait(); close(results) }()

	// Assembler: reorders by sequence and fills batches.
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		defer close(l.out)
		defer func() {
			// Drain so the workers can finish after a cancel.
			for range results {
			}
		}()
		pending := map[int]done{}
		next := 0
		var cur *batch.Batch
		var st Stats
		filled := 0
		cursor := p
		emit := func(r result) bool {
			select {
			case l.out <- r:
				return true
			case <-ctx.Done():
				return false
			}
		}
		for d := range results {
			pending[d.seq] = d
			for {
				d, ok := pending[next]
				if !ok {
					break
				}
				delete(pending, next)
				next++
				<-tokens
				cursor = Position{Epoch: d.epoch, Index: d.at + 1, Seed: l.opts.Seed}
				if cursor.Index == n {
					cursor = Position{Epoch: d.epoch + 1, Index: 0, Seed: l.opts.Seed}
					st.EpochEnded = true
				}
				if d.err != nil {
					if d.fatal {
						emit(result{err: d.err, stats: st})
						return
					}
					if errors.Is(d.err, ErrNoInstances) {
						st.Empty++
					} else {
						st.BadImages++
						l.opts.Log.Warn().Err(d.err).Int("index", d.index).Msg("skipping image")
					}
					if d.b != nil {
						samples <- d.b
					}
					continue
				}
				if cur == nil {
					select {
					case cur = <-l.free:
					default:
						cur = batch.New(l.dims)
					}
				}
				copySlot(cur, filled, d.b)
				if d.st.Dropped > 0 {
					l.opts.Log.Warn().Int64("image_id", d.b.ImageIDs[0]).Int("dropped", d.st.Dropped).Int("max_gt_instances", l.dims.MaxGTInstances).Msg("more instances than max_gt_instances; dropped at random")
				}
				samples <- d.b
				filled++
				st.Images++
				st.Vanished += d.st.Vanished
				st.Dropped += d.st.Dropped
				st.Positives += d.st.RPN.Positive
				st.Time.Decode += d.st.Time.Decode
				st.Time.Resize += d.st.Time.Resize
				st.Time.Masks += d.st.Time.Masks
				st.Time.RPN += d.st.Time.RPN
				st.Time.Fill += d.st.Time.Fill
				if d.st.Flipped {
					st.Flipped++
				}
				if filled == B {
					if !emit(result{b: cur, stats: st, pos: cursor}) {
						return
					}
					cur, filled, st = nil, 0, Stats{}
				}
			}
		}
		if ctx.Err() == nil && cur != nil && filled > 0 {
			for s := filled; s < B; s++ {
				clearSlot(cur, s)
			}
			emit(result{b: cur, stats: st, pos: cursor})
		}
	}()
	return nil
}

// prepare runs one image; a non-fatal error skips it.
func (l *Loader) prepare(p *Preparer, j job, sb *batch.Batch) (SampleStats, error, bool) {
	ex, err := l.ds.Example(j.index)
	if err != nil {
		return SampleStats{}, fmt.Errorf("dataset index %d: %w", j.index, err), l.opts.FailOnBadImage
	}
	rng := Seed(l.opts.Seed, j.epoch, j.index)
	st, err := p.Prepare(ex, j.index, rng, l.opts.Augment, sb, 0)
	if err != nil {
		var bad *BadImageError
		if errors.As(err, &bad) {
			return st, err, l.opts.FailOnBadImage
		}
		if errors.Is(err, ErrNoInstances) {
			return st, err, false
		}
		return st, err, true
	}
	return st, nil, false
}

// copySlot copies the one-image batch src into slot s of dst.
func copySlot(dst *batch.Batch, s int, src *batch.Batch) {
	cp := func(n int) (int, int) { return s * n, (s + 1) * n }
	d := dst.Dims
	a, b := cp(1)
	copy(dst.ImageIDs[a:b], src.ImageIDs)
	a, b = cp(d.Height * d.Width * 3)
	copy(dst.Image[a:b], src.Image)
	a, b = cp(d.MetaLength())
	copy(dst.ImageMeta[a:b], src.ImageMeta)
	a, b = cp(d.Anchors)
	copy(dst.RPNMatch[a:b], src.RPNMatch)
	a, b = cp(d.RPNTrainAnchors * 4)
	copy(dst.RPNBBox[a:b], src.RPNBBox)
	a, b = cp(d.MaxGTInstances)
	copy(dst.GTClassIDs[a:b], src.GTClassIDs)
	a, b = cp(d.MaxGTInstances * 4)
	copy(dst.GTBoxes[a:b], src.GTBoxes)
	a, b = cp(d.MaskHeight * d.MaskWidth * d.MaxGTInstances)
	copy(dst.GTMasks[a:b], src.GTMasks)
}

// clearSlot zeroes slot s (padding of a final partial batch).
func clearSlot(dst *batch.Batch, s int) {
	d := dst.Dims
	z := func(n int) (int, int) { return s * n, (s + 1) * n }
	a, b := z(1)
	clear(dst.ImageIDs[a:b])
	a, b = z(d.Height * d.Width * 3)
	clear(dst.Image[a:b])
	a, b = z(d.MetaLength())
	clear(dst.ImageMeta[a:b])
	a, b = z(d.Anchors)
	clear(dst.RPNMatch[a:b])
	a, b = z(d.RPNTrainAnchors * 4)
	clear(dst.RPNBBox[a:b])
	a, b = z(d.MaxGTInstances)
	clear(dst.GTClassIDs[a:b])
	a, b = z(d.MaxGTInstances * 4)
	clear(dst.GTBoxes[a:b])
	a, b = z(d.MaskHeight * d.MaskWidth * d.MaxGTInstances)
	clear(dst.GTMasks[a:b])
}
