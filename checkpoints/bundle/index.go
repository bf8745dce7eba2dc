package bundle

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	pb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"
)

// HeaderKey is the key of the BundleHeaderProto entry; it sorts first.
const HeaderKey = ""

// ObjectGraphKey holds the serialized TrackableObjectGraph of TF2 checkpoints.
const ObjectGraphKey = "_CHECKPOINTABLE_OBJECT_GRAPH"

// maxIndexBytes bounds how much of a file is read as an index; real indexes
// of very large models are a few megabytes.
const maxIndexBytes = 1 << 30

// Header is the bundle's BundleHeaderProto.
type Header struct {
	NumShards   int32  `json:"num_shards"`
	Endianness  string `json:"endianness"` // LITTLE | BIG
	Producer    int32  `json:"producer"`
	MinConsumer int32  `json:"min_consumer"`
}

// Entry is one tensor of the checkpoint (a BundleEntryProto).
type Entry struct {
	Key     string  `json:"key"`
	DType   DType   `json:"dtype"`
	Shape   []int64 `json:"shape"`
	ShardID int32   `json:"shard_id"`
	Offset  int64   `json:"offset"`
	Size    int64   `json:"size"`   // bytes in the data shard
	CRC32C  uint32  `json:"crc32c"` // masked CRC32C of those bytes
	// Slices is the number of partitioned slices when the entry only
	// describes a sliced tensor (its bytes live under other keys).
	Slices int `json:"slices,omitempty"`
}

// NumElements is the product of the shape (1 for a scalar).
func (e Entry) NumElements() int64 {
	n := int64(1)
	for _, d := range e.Shape {
		n *= d
	}
	return n
}

// Index is a parsed `.index` file.
type Index struct {
	Header  Header    `json:"header"`
	Entries []Entry   `json:"entries"` // sorted by key, header excluded
	Table   TableInfo `json:"table"`
}

// Lookup returns the entry for key.
func (ix *Index) Lookup(key string) (Entry, bool) {
	lo, hi := 0, len(ix.Entries)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if ix.Entries[m].Key < key {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(ix.Entries) && ix.Entries[lo].Key == key {
		return ix.Entries[lo], true
	}
	return Entry{}, false
}

// ShardSizes returns, per shard, the end of the furthest entry: the size
// TensorFlow's writer leaves the data file at (with the default alignment).
func (ix *Index) ShardSizes() []int64 {
	n := max(int(ix.Header.NumShards), 0)
	for _, e := range ix.Entries {
		if e.Slices == 0 && int(e.ShardID) >= n {
			n = int(e.ShardID) + 1
		}
	}
	sizes := make([]int64, n)
	for _, e := range ix.Entries {
		if e.Slices == 0 && e.ShardID >= 0 && e.Offset+e.Size > sizes[e.ShardID] {
			sizes[e.ShardID] = e.Offset + e.Size
		}
	}
	return sizes
}

// ParseIndex parses the bytes of a `.index` file.
func ParseIndex(b []byte) (*Index, error) {
	kvs, info, err := readTable(b)
	if err != nil {
		return nil, err
	}
	ix := &Index{Table: info}
	if len(kvs) == 0 || len(kvs[0].key) != 0 {
		return nil, corruptf("no header entry (empty key) at the start of the table")
	}
	var h pb.BundleHeaderProto
	if err := proto.Unmarshal(kvs[0].value, &h); err != nil {
		return nil, corruptf("header entry: %v", err)
	}
	ix.Header = Header{
		NumShards:   h.GetNumShards(),
		Endianness:  h.GetEndianness().String(),
		Producer:    h.GetVersion().GetProducer(),
		MinConsumer: h.GetVersion().GetMinConsumer(),
	}
	if ix.Header.NumShards < 0 {
		return nil, corruptf("header: negative num_shards %d", ix.Header.NumShards)
	}
	ix.Entries = make([]Entry, 0, len(kvs)-1)
	for _, e := range kvs[1:] {
		key := string(e.key)
		var be pb.BundleEntryProto
		if err := proto.Unmarshal(e.value, &be); err != nil {
			return nil, corruptf("entry %q: %v", key, err)
		}
		ent := Entry{
			Key:     key,
			DType:   DType(be.GetDtype()),
			ShardID: be.GetShardId(),
			Offset:  be.GetOffset(),
			Size:    be.GetSize(),
			CRC32C:  be.GetCrc32C(),
			Slices:  len(be.GetSlices()),
		}
		if be.GetShape().GetUnknownRank() {
			return nil, corruptf("entry %q: unknown-rank shape", key)
		}
		for _, d := range be.GetShape().GetDim() {
			if d.GetSize() < 0 {
				return nil, corruptf("entry %q: negative dimension %d", key, d.GetSize())
			}
			ent.Shape = append(ent.Shape, d.GetSize())
		}
		if ent.Shape == nil {
			ent.Shape = []int64{}
		}
		if ent.Offset < 0 || ent.Size < 0 || ent.ShardID < 0 {
			return nil, corruptf("entry %q: negative shard %d, offset %d or size %d", key, ent.ShardID, ent.Offset, ent.Size)
		}
		if ent.Offset > (1<<62) || ent.Size > (1<<62) {
			return nil, corruptf("entry %q: offset %d or size %d out of range", key, ent.Offset, ent.Size)
		}
		if err := checkElements(ent); err != nil {
			return nil, err
		}
		ix.Entries = append(ix.Entries, ent)
	}
	return ix, nil
}

// checkElements rejects shapes whose element count overflows or disagrees
// with the stored size of a fixed-width dtype.
func checkElements(e Entry) error {
	n := int64(1)
	for _, d := range e.Shape {
		if d != 0 && n > (1<<62)/d {
			return corruptf("entry %q: shape %v overflows", e.Key, e.Shape)
		}
		n *= d
	}
	if e.Slices > 0 {
		return nil
	}
	if w := e.DType.Size(); w > 0 && n*int64(w) != e.Size {
		return corruptf("entry %q: %s %v needs %d bytes but the entry says %d", e.Key, e.DType, e.Shape, n*int64(w), e.Size)
	}
	return nil
}

// ReadIndex reads and parses an index from r.
func ReadIndex(r io.Reader) (*Index, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxIndexBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxIndexBytes {
		return nil, fmt.Errorf("index larger than %d bytes", maxIndexBytes)
	}
	return ParseIndex(b)
}

// ReadIndexFile reads the index at path (a `.index` file).
func ReadIndexFile(path string) (*Index, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read checkpoint index: %w", err)
	}
	defer f.Close()
	ix, err := ReadIndex(f)
	if err != nil {
		return nil, fmt.Errorf("read checkpoint index %s: %w", path, err)
	}
	return ix, nil
}

// IndexPath returns the index file name of a checkpoint prefix.
func IndexPath(prefix string) string { return prefix + ".index" }

// DataPath returns the file name of data shard `shard` of `numShards`.
func DataPath(prefix string, shard, numShards int) string {
	return fmt.Sprintf("%s.data-%05d-of-%05d", prefix, shard, numShards)
}

// PrefixOf returns the checkpoint prefix of an index path (".index" removed).
func PrefixOf(indexPath string) string { return strings.TrimSuffix(indexPath, ".index") }

// DType is a TensorFlow data type as stored in checkpoints.
type DType types_go_proto.DataType

// Common dtypes.
const (
	Float32 = DType(types_go_proto.DataType_DT_FLOAT)
	Float64 = DType(types_go_proto.DataType_DT_DOUBLE)
	Int32   = DType(types_go_proto.DataType_DT_INT32)
	Int64   = DType(types_go_proto.DataType_DT_INT64)
	Bool    = DType(types_go_proto.DataType_DT_BOOL)
	String  = DType(types_go_proto.DataType_DT_STRING)
)

// String returns the short TensorFlow name: float32, int64, string, ...
func (d DType) String() string {
	if s, ok := dtypeNames[types_go_proto.DataType(d)]; ok {
		return s
	}
	return strings.ToLower(strings.TrimPrefix(types_go_proto.DataType(d).String(), "DT_"))
}

// MarshalText writes the short name, so JSON shows "float32".
func (d DType) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText accepts the short names String returns.
func (d *DType) UnmarshalText(b []byte) error {
	for t, n := range dtypeNames {
		if n == string(b) {
			*d = DType(t)
			return nil
		}
	}
	if v, ok := types_go_proto.DataType_value["DT_"+strings.ToUpper(string(b))]; ok {
		*d = DType(v)
		return nil
	}
	return fmt.Errorf("unknown dtype %q", b)
}

// Size is the byte width of one element, or 0 for variable-width types
// (string, variant, resource).
func (d DType) Size() int { return dtypeSizes[types_go_proto.DataType(d)] }

var dtypeNames = map[types_go_proto.DataType]string{
	types_go_proto.DataType_DT_FLOAT:      "float32",
	types_go_proto.DataType_DT_DOUBLE:     "float64",
	types_go_proto.DataType_DT_HALF:       "float16",
	types_go_proto.DataType_DT_BFLOAT16:   "bfloat16",
	types_go_proto.DataType_DT_INT8:       "int8",
	types_go_proto.DataType_DT_INT16:      "int16",
	types_go_proto.DataType_DT_INT32:      "int32",
	types_go_proto.DataType_DT_INT64:      "int64",
	types_go_proto.DataType_DT_UINT8:      "uint8",
	types_go_proto.DataType_DT_UINT16:     "uint16",
	types_go_proto.DataType_DT_UINT32:     "uint32",
	types_go_proto.DataType_DT_UINT64:     "uint64",
	types_go_proto.DataType_DT_BOOL:       "bool",
	types_go_proto.DataType_DT_STRING:     "string",
	types_go_proto.DataType_DT_COMPLEX64:  "complex64",
	types_go_proto.DataType_DT_COMPLEX128: "complex128",
}

var dtypeSizes = map[types_go_proto.DataType]int{
	types_go_proto.DataType_DT_FLOAT:      4,
	types_go_proto.DataType_DT_DOUBLE:     8,
	types_go_proto.DataType_DT_HALF:       2,
	types_go_proto.DataType_DT_BFLOAT16:   2,
	types_go_proto.DataType_DT_INT8:       1,
	types_go_proto.DataType_DT_INT16:      2,
	types_go_proto.DataType_DT_INT32:      4,
	types_go_proto.DataType_DT_INT64:      8,
	types_go_proto.DataType_DT_UINT8:      1,
	types_go_proto.DataType_DT_UINT16:     2,
	types_go_proto.DataType_DT_UINT32:     4,
	types_go_proto.DataType_DT_UINT64:     8,
	types_go_proto.DataType_DT_BOOL:       1,
	types_go_proto.DataType_DT_COMPLEX64:  8,
	types_go_proto.DataType_DT_COMPLEX128: 16,
}
