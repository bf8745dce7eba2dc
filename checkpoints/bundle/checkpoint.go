package bundle

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
)

// Checkpoint is a bundle on disk: its index, and the data shards named after
// its prefix (`PREFIX.data-00000-of-00001`).
type Checkpoint struct {
	Prefix string
	Index  *Index
}

// Open reads the index of the checkpoint with the given prefix (the path
// without `.index`); a path ending in `.index` is accepted too. The data
// shards are opened only when values are read or verified.
func Open(prefix string) (*Checkpoint, error) {
	prefix = PrefixOf(prefix)
	ix, err := ReadIndexFile(IndexPath(prefix))
	if err != nil {
		return nil, err
	}
	return &Checkpoint{Prefix: prefix, Index: ix}, nil
}

// ShardPath is the data file of shard i.
func (c *Checkpoint) ShardPath(i int32) string {
	return DataPath(c.Prefix, int(i), int(max(c.Index.Header.NumShards, 1)))
}

// ErrNotFound is returned for a key the checkpoint does not hold.
var ErrNotFound = errors.New("key not in checkpoint")

// Raw returns the stored bytes of key, checked against the entry's CRC32C.
func (c *Checkpoint) Raw(key string) ([]byte, Entry, error) {
	e, ok := c.Index.Lookup(key)
	if !ok {
		return nil, e, fmt.Errorf("%q: %w", key, ErrNotFound)
	}
	if e.Slices > 0 {
		return nil, e, fmt.Errorf("%q is stored as %d slices; reading sliced tensors is not supported", key, e.Slices)
	}
	path := c.ShardPath(e.ShardID)
	f, err := os.Open(path)
	if err != nil {
		return nil, e, fmt.Errorf("read %q: %w", key, err)
	}
	defer f.Close()
	b, err := readEntry(f, e)
	if err != nil {
		return nil, e, fmt.Errorf("read %q from %s: %w", key, path, err)
	}
	got, err := entryCRC(e, b)
	if err != nil {
		return nil, e, fmt.Errorf("read %q from %s: %w", key, path, err)
	}
	if got != e.CRC32C {
		return nil, e, fmt.Errorf("read %q from %s: %w: masked CRC32C %#08x, index says %#08x", key, path, ErrCorrupt, got, e.CRC32C)
	}
	return b, e, nil
}

// entryCRC computes the masked checksum TensorFlow stores for an entry: the
// CRC32C of the bytes, except for strings (see decodeStrings).
func entryCRC(e Entry, b []byte) (uint32, error) {
	if e.DType == String {
		_, crc, err := decodeStrings(b, e.NumElements())
		return MaskCRC(crc), err
	}
	return MaskCRC(crc32c(b)), nil
}

func readEntry(f *os.File, e Entry) ([]byte, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if e.Offset+e.Size > st.Size() {
		return nil, fmt.Errorf("%w: entry [%d, +%d) beyond the %d-byte data file (truncated?)", ErrCorrupt, e.Offset, e.Size, st.Size())
	}
	b := make([]byte, e.Size)
	if _, err := f.ReadAt(b, e.Offset); err != nil && !(errors.Is(err, io.EOF) && e.Size == 0) {
		return nil, err
	}
	return b, nil
}

func (c *Checkpoint) fixed(key string, want DType) ([]byte, error) {
	if c.Index.Header.Endianness == "BIG" {
		return nil, fmt.Errorf("read %q: big-endian checkpoints are not supported", key)
	}
	b, e, err := c.Raw(key)
	if err != nil {
		return nil, err
	}
	if e.DType != want {
		return nil, fmt.Errorf("read %q: dtype is %s, not %s", key, e.DType, want)
	}
	return b, nil
}

// Float32s returns the values of a float32 tensor in row-major order.
func (c *Checkpoint) Float32s(key string) ([]float32, error) {
	b, err := c.fixed(key, Float32)
	if err != nil {
		return nil, err
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out, nil
}

// Float64s returns the values of a float64 tensor.
func (c *Checkpoint) Float64s(key string) ([]float64, error) {
	b, err := c.fixed(key, Float64)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(b)/8)
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return out, nil
}

// Int64s returns the values of an int64 tensor.
func (c *Checkpoint) Int64s(key string) ([]int64, error) {
	b, err := c.fixed(key, Int64)
	if err != nil {
		return nil, err
	}
	out := make([]int64, len(b)/8)
	for i := range out {
		out[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return out, nil
}

// Int32s returns the values of an int32 tensor.
func (c *Checkpoint) Int32s(key string) ([]int32, error) {
	b, err := c.fixed(key, Int32)
	if err != nil {
		return nil, err
	}
	out := make([]int32, len(b)/4)
	for i := range out {
		out[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out, nil
}

// Strings returns the elements of a string tensor.
func (c *Checkpoint) Strings(key string) ([][]byte, error) {
	b, e, err := c.Raw(key)
	if err != nil {
		return nil, err
	}
	if e.DType != String {
		return nil, fmt.Errorf("read %q: dtype is %s, not string", key, e.DType)
	}
	s, _, err := decodeStrings(b, e.NumElements())
	if err != nil {
		return nil, fmt.Errorf("read %q: %w", key, err)
	}
	return s, nil
}

// decodeStrings parses TensorFlow's string tensor layout: n varint64
// lengths, a masked CRC32C of those lengths (each as little-endian uint32,
// or uint64 when over 4 GiB), then the bytes. It also returns the entry's
// (unmasked) checksum, which covers the lengths in that fixed-width form,
// the four checksum bytes and the string bytes.
func decodeStrings(b []byte, n int64) ([][]byte, uint32, error) {
	if n < 0 {
		return nil, 0, fmt.Errorf("%w: negative element count %d", ErrCorrupt, n)
	}
	if n == 0 || len(b) == 0 {
		if len(b) != 0 {
			return nil, 0, fmt.Errorf("%w: %d bytes for an empty string tensor", ErrCorrupt, len(b))
		}
		return make([][]byte, n), 0, nil
	}
	if n > int64(len(b)) {
		return nil, 0, fmt.Errorf("%w: %d strings cannot fit in %d bytes", ErrCorrupt, n, len(b))
	}
	lens := make([]uint64, n)
	p := 0
	var crc uint32
	for i := range lens {
		l, k := binary.Uvarint(b[p:])
		if k <= 0 {
			return nil, 0, fmt.Errorf("%w: string %d: bad length", ErrCorrupt, i)
		}
		p += k
		lens[i] = l
		if l <= math.MaxUint32 {
			crc = extendCRC(crc, binary.LittleEndian.AppendUint32(nil, uint32(l)))
		} else {
			crc = extendCRC(crc, binary.LittleEndian.AppendUint64(nil, l))
		}
	}
	if len(b)-p < 4 {
		return nil, 0, fmt.Errorf("%w: string lengths run into the end of the entry", ErrCorrupt)
	}
	if got := binary.LittleEndian.Uint32(b[p:]); UnmaskCRC(got) != crc {
		return nil, 0, fmt.Errorf("%w: string length checksum mismatch", ErrCorrupt)
	}
	crc = extendCRC(crc, b[p:p+4])
	p += 4
	out := make([][]byte, n)
	for i, l := range lens {
		if l > uint64(len(b)-p) {
			return nil, 0, fmt.Errorf("%w: string %d of %d bytes overruns the entry", ErrCorrupt, i, l)
		}
		out[i] = b[p : p+int(l)]
		crc = extendCRC(crc, out[i])
		p += int(l)
	}
	if p != len(b) {
		return nil, 0, fmt.Errorf("%w: %d bytes after the last string", ErrCorrupt, len(b)-p)
	}
	return out, crc, nil
}

// ShardCheck is the verdict on one data shard.
type ShardCheck struct {
	Path     string `json:"path"`
	Exists   bool   `json:"exists"`
	Size     int64  `json:"size"`     // actual bytes, when it exists
	Expected int64  `json:"expected"` // end of its furthest entry
	Problem  string `json:"problem,omitempty"`
}

// EntryCheck is a failed entry check.
type EntryCheck struct {
	Key     string `json:"key"`
	Problem string `json:"problem"`
}

// VerifyReport is the result of Verify.
type VerifyReport struct {
	Shards  []ShardCheck `json:"shards"`
	Checked int          `json:"entries_checked"` // entries whose bytes matched
	Skipped int          `json:"entries_skipped"` // entries in a missing shard, or sliced
	Bad     []EntryCheck `json:"bad_entries,omitempty"`
}

// OK reports whether every shard and entry passed.
func (r *VerifyReport) OK() bool { return r.Err() == nil }

// Err joins every problem into one error, or returns nil.
func (r *VerifyReport) Err() error {
	var errs []error
	for _, s := range r.Shards {
		if s.Problem != "" {
			errs = append(errs, fmt.Errorf("%s: %s", s.Path, s.Problem))
		}
	}
	for _, e := range r.Bad {
		errs = append(errs, fmt.Errorf("%q: %s", e.Key, e.Problem))
	}
	return errors.Join(errs...)
}

// Verify checks that every data shard exists and is as long as the index
// says, and that every entry's bytes match their masked CRC32C. It returns
// an error only when ctx is cancelled; findings are in the report.
func (c *Checkpoint) Verify(ctx context.Context) (*VerifyReport, error) {
	rep := &VerifyReport{}
	sizes := c.Index.ShardSizes()
	files := make([]*os.File, len(sizes))
	defer func() {
		for _, f := range files {
			if f != nil {
				f.Close()
			}
		}
	}()
	for i, want := range sizes {
		sc := ShardCheck{Path: c.ShardPath(int32(i)), Expected: want}
		f, err := os.Open(sc.Path)
		switch {
		case errors.Is(err, os.ErrNotExist):
			sc.Problem = fmt.Sprintf("data shard missing (the index needs %d bytes in it)", want)
		case err != nil:
			sc.Problem = err.Error()
		default:
			sc.Exists = true
			files[i] = f
			st, err := f.Stat()
			if err != nil {
				sc.Problem = err.Error()
				break
			}
			sc.Size = st.Size()
			if sc.Size < want {
				sc.Problem = fmt.Sprintf("data shard is %d bytes, the index needs %d (truncated)", sc.Size, want)
			} else if sc.Size > want {
				// TensorFlow pads to its data alignment after the last
				// entry; more than that is foreign data.
				sc.Problem = fmt.Sprintf("data shard is %d bytes, %d more than the index covers", sc.Size, sc.Size-want)
			}
		}
		rep.Shards = append(rep.Shards, sc)
	}
	for _, e := range c.Index.Entries {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		if e.Slices > 0 || files[e.ShardID] == nil {
			// A missing shard is reported once, above.
			rep.Skipped++
			continue
		}
		f := files[e.ShardID]
		if e.Offset+e.Size > rep.Shards[e.ShardID].Size {
			rep.Bad = append(rep.Bad, EntryCheck{e.Key, fmt.Sprintf("entry [%d, +%d) beyond the %d-byte data shard", e.Offset, e.Size, rep.Shards[e.ShardID].Size)})
			continue
		}
		var got uint32
		if e.DType == String {
			b, err := readEntry(f, e)
			if err == nil {
				got, err = entryCRC(e, b)
			}
			if err != nil {
				rep.Bad = append(rep.Bad, EntryCheck{e.Key, err.Error()})
				continue
			}
		} else {
			// Stream large tensors through the checksum instead of
			// holding them in memory.
			h := crc32.New(castagnoli)
			if _, err := io.Copy(h, io.NewSectionReader(f, e.Offset, e.Size)); err != nil {
				rep.Bad = append(rep.Bad, EntryCheck{e.Key, err.Error()})
				continue
			}
			got = MaskCRC(h.Sum32())
		}
		if got != e.CRC32C {
			rep.Bad = append(rep.Bad, EntryCheck{e.Key, fmt.Sprintf("masked CRC32C %#08x, index says %#08x", got, e.CRC32C)})
			continue
		}
		rep.Checked++
	}
	return rep, nil
}
