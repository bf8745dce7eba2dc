package bundle

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/klauspost/compress/snappy"
)

// Table format constants (LevelDB's sorted table as TensorFlow's tsl/lib/io
// writes it).
const (
	tableMagic        = 0xdb4775248b80fb57
	footerLen         = 2*maxHandleLen + 8
	maxHandleLen      = 20 // two varint64s
	blockTrailerLen   = 5  // type byte + masked CRC32C
	blockNoCompress   = 0
	blockSnappy       = 1
	restartInterval   = 16
	defaultBlockBytes = 256 << 10
)

// ErrCorrupt is wrapped by every error about a damaged or foreign index file.
var ErrCorrupt = errors.New("corrupt checkpoint index")

func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// blockHandle locates a block (without its trailer) in the table file.
type blockHandle struct {
	offset, size uint64
}

func decodeHandle(b []byte) (blockHandle, int, error) {
	off, n1 := binary.Uvarint(b)
	if n1 <= 0 {
		return blockHandle{}, 0, corruptf("bad block handle offset")
	}
	size, n2 := binary.Uvarint(b[n1:])
	if n2 <= 0 {
		return blockHandle{}, 0, corruptf("bad block handle size")
	}
	return blockHandle{off, size}, n1 + n2, nil
}

func (h blockHandle) append(dst []byte) []byte {
	dst = binary.AppendUvarint(dst, h.offset)
	return binary.AppendUvarint(dst, h.size)
}

// BlockInfo describes one stored block of the index table.
type BlockInfo struct {
	Offset     uint64 `json:"offset"`
	StoredSize uint64 `json:"stored_size"` // bytes on disk, without the trailer
	RawSize    int    `json:"raw_size"`    // bytes after decompression
	Compressed bool   `json:"compressed"`  // Snappy (block type 1)
	Entries    int    `json:"entries"`
}

// TableInfo is the physical layout of an index file, for diagnostics.
type TableInfo struct {
	FileSize  int64       `json:"file_size"`
	Magic     uint64      `json:"magic"`
	MetaIndex BlockInfo   `json:"meta_index"`
	Index     BlockInfo   `json:"index"`
	Data      []BlockInfo `json:"data_blocks"`
}

type kv struct {
	key, value []byte
}

// readTable parses a whole table held in memory and returns its entries in
// file order together with the layout.
func readTable(file []byte) ([]kv, TableInfo, error) {
	info := TableInfo{FileSize: int64(len(file))}
	if len(file) < footerLen {
		return nil, info, corruptf("file is %d bytes, shorter than the %d-byte table footer (truncated?)", len(file), footerLen)
	}
	footer := file[len(file)-footerLen:]
	info.Magic = binary.LittleEndian.Uint64(footer[footerLen-8:])
	if info.Magic != tableMagic {
		return nil, info, corruptf("bad table magic %#016x, want %#016x (not a TensorFlow checkpoint index, or truncated)", info.Magic, uint64(tableMagic))
	}
	meta, n, err := decodeHandle(footer[:footerLen-8])
	if err != nil {
		return nil, info, fmt.Errorf("footer meta-index handle: %w", err)
	}
	index, _, err := decodeHandle(footer[n : footerLen-8])
	if err != nil {
		return nil, info, fmt.Errorf("footer index handle: %w", err)
	}
	metaRaw, metaInfo, err := readBlock(file, meta)
	if err != nil {
		return nil, info, fmt.Errorf("meta-index block: %w", err)
	}
	metaEntries, err := parseBlock(metaRaw)
	if err != nil {
		return nil, info, fmt.Errorf("meta-index block: %w", err)
	}
	metaInfo.Entries = len(metaEntries)
	info.MetaIndex = metaInfo

	indexRaw, indexInfo, err := readBlock(file, index)
	if err != nil {
		return nil, info, fmt.Errorf("index block: %w", err)
	}
	handles, err := parseBlock(indexRaw)
	if err != nil {
		return nil, info, fmt.Errorf("index block: %w", err)
	}
	indexInfo.Entries = len(handles)
	info.Index = indexInfo

	var out []kv
	for i, h := range handles {
		bh, used, err := decodeHandle(h.value)
		if err != nil {
			return nil, info, fmt.Errorf("index entry %d: %w", i, err)
		}
		if used != len(h.value) {
			return nil, info, corruptf("index entry %d: %d trailing bytes after block handle", i, len(h.value)-used)
		}
		raw, bi, err := readBlock(file, bh)
		if err != nil {
			return nil, info, fmt.Errorf("data block %d: %w", i, err)
		}
		entries, err := parseBlock(raw)
		if err != nil {
			return nil, info, fmt.Errorf("data block %d at offset %d: %w", i, bh.offset, err)
		}
		// Every key of a block sorts at or below the block's index key.
		if len(entries) > 0 && bytes.Compare(entries[len(entries)-1].key, h.key) > 0 {
			return nil, info, corruptf("data block %d: last key %q sorts after its index key %q", i, entries[len(entries)-1].key, h.key)
		}
		bi.Entries = len(entries)
		info.Data = append(info.Data, bi)
		out = append(out, entries...)
	}
	for i := 1; i < len(out); i++ {
		if bytes.Compare(out[i-1].key, out[i].key) >= 0 {
			return nil, info, corruptf("keys out of order: %q then %q", out[i-1].key, out[i].key)
		}
	}
	return out, info, nil
}

// readBlock returns the uncompressed contents of the block at h after
// checking its trailer's CRC.
func readBlock(file []byte, h blockHandle) ([]byte, BlockInfo, error) {
	bi := BlockInfo{Offset: h.offset, StoredSize: h.size}
	limit := uint64(len(file) - footerLen)
	if h.offset > limit || h.size > limit-h.offset || blockTrailerLen > limit-h.offset-h.size {
		return nil, bi, corruptf("block [%d, +%d) plus trailer lies outside the %d bytes before the footer", h.offset, h.size, limit)
	}
	data := file[h.offset : h.offset+h.size]
	trailer := file[h.offset+h.size : h.offset+h.size+blockTrailerLen]
	want := UnmaskCRC(binary.LittleEndian.Uint32(trailer[1:]))
	got := extendCRC(crc32c(data), trailer[:1])
	if got != want {
		return nil, bi, corruptf("block at offset %d: checksum mismatch (stored %#08x, computed %#08x)", h.offset, want, got)
	}
	switch trailer[0] {
	case blockNoCompress:
		bi.RawSize = len(data)
		return data, bi, nil
	case blockSnappy:
		bi.Compressed = true
		n, err := snappy.DecodedLen(data)
		if err != nil {
			return nil, bi, corruptf("block at offset %d: snappy header: %v", h.offset, err)
		}
		// Snappy cannot expand more than ~22x; refuse claims beyond that
		// before allocating.
		if n > 32*len(data)+64 {
			return nil, bi, corruptf("block at offset %d: snappy claims %d bytes from %d", h.offset, n, len(data))
		}
		raw, err := snappy.Decode(nil, data)
		if err != nil {
			return nil, bi, corruptf("block at offset %d: snappy: %v", h.offset, err)
		}
		bi.RawSize = len(raw)
		return raw, bi, nil
	default:
		return nil, bi, corruptf("block at offset %d: unknown block type %d (0 = raw, 1 = snappy)", h.offset, trailer[0])
	}
}

// parseBlock decodes every entry of an uncompressed block, resolving the
// shared-prefix key compression.
func parseBlock(b []byte) ([]kv, error) {
	if len(b) < 4 {
		return nil, corruptf("block of %d bytes has no restart count", len(b))
	}
	nRestarts := uint64(binary.LittleEndian.Uint32(b[len(b)-4:]))
	if nRestarts*4 > uint64(len(b)-4) {
		return nil, corruptf("block of %d bytes claims %d restart points", len(b), nRestarts)
	}
	end := len(b) - 4 - int(nRestarts)*4
	for i := range int(nRestarts) {
		r := binary.LittleEndian.Uint32(b[end+4*i:])
		if int64(r) > int64(end) {
			return nil, corruptf("restart point %d at %d beyond the entries' end %d", i, r, end)
		}
	}
	var out []kv
	var prev []byte
	for p := 0; p < end; {
		shared, n1 := binary.Uvarint(b[p:end])
		if n1 <= 0 {
			return nil, corruptf("entry at %d: bad shared length", p)
		}
		nonShared, n2 := binary.Uvarint(b[p+n1 : end])
		if n2 <= 0 {
			return nil, corruptf("entry at %d: bad key length", p)
		}
		vlen, n3 := binary.Uvarint(b[p+n1+n2 : end])
		if n3 <= 0 {
			return nil, corruptf("entry at %d: bad value length", p)
		}
		q := p + n1 + n2 + n3
		if shared > uint64(len(prev)) {
			return nil, corruptf("entry at %d shares %d bytes with a %d-byte previous key", p, shared, len(prev))
		}
		if nonShared > uint64(end-q) || vlen > uint64(end-q)-nonShared {
			return nil, corruptf("entry at %d: key %d + value %d bytes overrun the block", p, nonShared, vlen)
		}
		key := make([]byte, 0, int(shared)+int(nonShared))
		key = append(key, prev[:shared]...)
		key = append(key, b[q:q+int(nonShared)]...)
		q += int(nonShared)
		out = append(out, kv{key: key, value: b[q : q+int(vlen)]})
		prev = key
		p = q + int(vlen)
	}
	return out, nil
}

// blockBuilder assembles one block with prefix-compressed keys and restart
// points every restartInterval entries.
type blockBuilder struct {
	interval int // entries between restart points
	buf      []byte
	restarts []uint32
	counter  int
	last     []byte
}

func (b *blockBuilder) reset() {
	b.buf = b.buf[:0]
	b.restarts = append(b.restarts[:0], 0)
	b.counter = 0
	b.last = b.last[:0]
}

func (b *blockBuilder) empty() bool { return len(b.buf) == 0 }

func (b *blockBuilder) sizeEstimate() int { return len(b.buf) + 4*len(b.restarts) + 4 }

func (b *blockBuilder) add(key, value []byte) {
	if len(b.restarts) == 0 {
		b.restarts = append(b.restarts, 0)
	}
	shared := 0
	if b.counter < b.interval {
		for shared < len(b.last) && shared < len(key) && b.last[shared] == key[shared] {
			shared++
		}
	} else {
		b.restarts = append(b.restarts, uint32(len(b.buf)))
		b.counter = 0
	}
	b.buf = binary.AppendUvarint(b.buf, uint64(shared))
	b.buf = binary.AppendUvarint(b.buf, uint64(len(key)-shared))
	b.buf = binary.AppendUvarint(b.buf, uint64(len(value)))
	b.buf = append(b.buf, key[shared:]...)
	b.buf = append(b.buf, value...)
	b.last = append(b.last[:0], key...)
	b.counter++
}

func (b *blockBuilder) finish() []byte {
	if len(b.restarts) == 0 {
		b.restarts = append(b.restarts, 0)
	}
	for _, r := range b.restarts {
		b.buf = binary.LittleEndian.AppendUint32(b.buf, r)
	}
	return binary.LittleEndian.AppendUint32(b.buf, uint32(len(b.restarts)))
}

// buildTable returns a complete, uncompressed table holding the entries,
// which must be sorted by key with no duplicates.
func buildTable(entries []kv, blockBytes int) []byte {
	var out []byte
	writeBlock := func(contents []byte) blockHandle {
		h := blockHandle{offset: uint64(len(out)), size: uint64(len(contents))}
		out = append(out, contents...)
		typ := []byte{blockNoCompress}
		crc := extendCRC(crc32c(contents), typ)
		out = append(out, typ...)
		out = binary.LittleEndian.AppendUint32(out, MaskCRC(crc))
		return h
	}
	// Index blocks restart at every entry, as TensorFlow's writer does.
	data := blockBuilder{interval: restartInterval}
	index := blockBuilder{interval: 1}
	data.reset()
	index.reset()
	// A block's index entry is written once the next key is known, so that
	// its key can be the shortest separator (TensorFlow does the same; any
	// key >= the block's last and < the next block's first would do).
	var lastKey []byte
	var pending *blockHandle
	for _, e := range entries {
		if pending != nil {
			index.add(shortestSeparator(lastKey, e.key), pending.append(nil))
			pending = nil
		}
		data.add(e.key, e.value)
		lastKey = append(lastKey[:0], e.key...)
		if data.sizeEstimate() >= blockBytes {
			h := writeBlock(data.finish())
			data.reset()
			pending = &h
		}
	}
	if !data.empty() {
		h := writeBlock(data.finish())
		pending = &h
	}
	if pending != nil {
		index.add(shortSuccessor(lastKey), pending.append(nil))
	}
	meta := blockBuilder{interval: restartInterval}
	meta.reset()
	metaHandle := writeBlock(meta.finish())
	indexHandle := writeBlock(index.finish())
	footer := metaHandle.append(nil)
	footer = indexHandle.append(footer)
	footer = append(footer, make([]byte, 2*maxHandleLen-len(footer))...)
	footer = binary.LittleEndian.AppendUint64(footer, tableMagic)
	return append(out, footer...)
}

// shortestSeparator returns a short key k with start <= k < limit.
func shortestSeparator(start, limit []byte) []byte {
	out := append([]byte(nil), start...)
	n := min(len(start), len(limit))
	i := 0
	for i < n && start[i] == limit[i] {
		i++
	}
	if i < n && start[i] < 0xff && start[i]+1 < limit[i] {
		out[i]++
		return out[:i+1]
	}
	return out
}

// shortSuccessor returns a short key >= key.
func shortSuccessor(key []byte) []byte {
	for i, c := range key {
		if c != 0xff {
			out := append([]byte(nil), key[:i+1]...)
			out[i]++
			return out
		}
	}
	return append([]byte(nil), key...)
}
