package bundle

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/wamuir/graft/tensorflow/core/framework/tensor_shape_go_proto"
	"github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	"github.com/wamuir/graft/tensorflow/core/framework/versions_go_proto"
	pb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"
)

// Writer writes a checkpoint with one data shard, in the layout
// TensorFlow's BundleWriter produces: tensors appended to
// PREFIX.data-00000-of-00001 in the order added, then PREFIX.index with the
// header and every entry sorted by key. Each file is written under a
// temporary name, synced, and renamed into place by Finish, data first, so
// a complete index always points at complete data.
type Writer struct {
	prefix  string
	tmpData string
	data    *os.File
	buf     *bufio.Writer
	offset  int64
	entries map[string]Entry
	err     error
}

// NewWriter starts a checkpoint at prefix (its directory must exist).
func NewWriter(prefix string) (*Writer, error) {
	f, err := os.CreateTemp(filepath.Dir(prefix), filepath.Base(prefix)+".data.tmp*")
	if err != nil {
		return nil, fmt.Errorf("write checkpoint %s: %w", prefix, err)
	}
	return &Writer{prefix: prefix, tmpData: f.Name(), data: f, buf: bufio.NewWriterSize(f, 1<<20), entries: map[string]Entry{}}, nil
}

// Add appends a tensor whose elements are encoded in data (little-endian,
// row-major; for strings use AddStrings).
func (w *Writer) Add(key string, dtype DType, shape []int64, data []byte) error {
	if w.err != nil {
		return w.err
	}
	if err := w.checkKey(key); err != nil {
		return err
	}
	e := Entry{Key: key, DType: dtype, Shape: slices.Clone(shape), Offset: w.offset, Size: int64(len(data))}
	if e.Shape == nil {
		e.Shape = []int64{}
	}
	width := dtype.Size()
	if width == 0 {
		return fmt.Errorf("add %q: dtype %s has no fixed width", key, dtype)
	}
	for _, d := range shape {
		if d < 0 {
			return fmt.Errorf("add %q: negative dimension in shape %v", key, shape)
		}
	}
	if n := e.NumElements(); n*int64(width) != int64(len(data)) {
		return fmt.Errorf("add %q: %s %v needs %d bytes, got %d", key, dtype, shape, n*int64(width), len(data))
	}
	e.CRC32C = MaskCRC(crc32c(data))
	return w.append(e, data)
}

// AddFloat32 appends a float32 tensor.
func (w *Writer) AddFloat32(key string, shape []int64, values []float32) error {
	b := make([]byte, 4*len(values))
	for i, v := range values {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return w.Add(key, Float32, shape, b)
}

// AddInt64 appends an int64 tensor.
func (w *Writer) AddInt64(key string, shape []int64, values []int64) error {
	b := make([]byte, 8*len(values))
	for i, v := range values {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(v))
	}
	return w.Add(key, Int64, shape, b)
}

// AddStrings appends a string tensor in TensorFlow's layout (varint
// lengths, their masked checksum, the bytes).
func (w *Writer) AddStrings(key string, shape []int64, values [][]byte) error {
	if w.err != nil {
		return w.err
	}
	if err := w.checkKey(key); err != nil {
		return err
	}
	e := Entry{Key: key, DType: String, Shape: slices.Clone(shape), Offset: w.offset}
	if e.Shape == nil {
		e.Shape = []int64{}
	}
	if n := e.NumElements(); n != int64(len(values)) {
		return fmt.Errorf("add %q: shape %v holds %d strings, got %d", key, shape, n, len(values))
	}
	var b []byte
	var crc uint32
	for _, v := range values {
		b = binary.AppendUvarint(b, uint64(len(v)))
		if uint64(len(v)) <= math.MaxUint32 {
			crc = extendCRC(crc, binary.LittleEndian.AppendUint32(nil, uint32(len(v))))
		} else {
			crc = extendCRC(crc, binary.LittleEndian.AppendUint64(nil, uint64(len(v))))
		}
	}
	if len(values) > 0 {
		sum := binary.LittleEndian.AppendUint32(nil, MaskCRC(crc))
		b = append(b, sum...)
		crc = extendCRC(crc, sum)
		for _, v := range values {
			b = append(b, v...)
			crc = extendCRC(crc, v)
		}
	}
	e.Size = int64(len(b))
	e.CRC32C = MaskCRC(crc)
	return w.append(e, b)
}

func (w *Writer) checkKey(key string) error {
	if key == HeaderKey {
		return errors.New("add: the empty key is reserved for the bundle header")
	}
	if _, dup := w.entries[key]; dup {
		return fmt.Errorf("add %q: duplicate key", key)
	}
	return nil
}

func (w *Writer) append(e Entry, b []byte) error {
	if _, err := w.buf.Write(b); err != nil {
		w.err = fmt.Errorf("write checkpoint %s: %w", w.prefix, err)
		return w.err
	}
	w.offset += int64(len(b))
	w.entries[e.Key] = e
	return nil
}

// Finish writes the index and moves both files into place. The Writer
// cannot be used afterwards.
func (w *Writer) Finish() error {
	if w.err != nil {
		w.Abort()
		return w.err
	}
	w.err = errors.New("checkpoint writer finished")
	fail := func(err error) error {
		w.data.Close()
		os.Remove(w.tmpData)
		return fmt.Errorf("write checkpoint %s: %w", w.prefix, err)
	}
	if err := w.buf.Flush(); err != nil {
		return fail(err)
	}
	if err := w.data.Sync(); err != nil {
		return fail(err)
	}
	if err := w.data.Close(); err != nil {
		return fail(err)
	}
	index, err := w.indexBytes()
	if err != nil {
		return fail(err)
	}
	tmpIndex, err := writeTemp(w.prefix+".index", index)
	if err != nil {
		return fail(err)
	}
	if err := os.Rename(w.tmpData, DataPath(w.prefix, 0, 1)); err != nil {
		os.Remove(tmpIndex)
		return fail(err)
	}
	if err := os.Rename(tmpIndex, IndexPath(w.prefix)); err != nil {
		os.Remove(tmpIndex)
		return fmt.Errorf("write checkpoint %s: %w", w.prefix, err)
	}
	return syncDir(filepath.Dir(w.prefix))
}

// Abort discards what was written.
func (w *Writer) Abort() {
	w.err = errors.New("checkpoint writer aborted")
	w.data.Close()
	os.Remove(w.tmpData)
}

func (w *Writer) indexBytes() ([]byte, error) {
	header, err := proto.Marshal(&pb.BundleHeaderProto{
		NumShards:  1,
		Endianness: pb.BundleHeaderProto_LITTLE,
		Version:    &versions_go_proto.VersionDef{Producer: 1},
	})
	if err != nil {
		return nil, err
	}
	kvs := []kv{{key: []byte(HeaderKey), value: header}}
	keys := make([]string, 0, len(w.entries))
	for k := range w.entries {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		e := w.entries[k]
		shape := &tensor_shape_go_proto.TensorShapeProto{}
		for _, d := range e.Shape {
			shape.Dim = append(shape.Dim, &tensor_shape_go_proto.TensorShapeProto_Dim{Size: d})
		}
		v, err := proto.Marshal(&pb.BundleEntryProto{
			Dtype:  types_go_proto.DataType(e.DType),
			Shape:  shape,
			Offset: e.Offset,
			Size:   e.Size,
			Crc32C: e.CRC32C,
		})
		if err != nil {
			return nil, err
		}
		kvs = append(kvs, kv{key: []byte(k), value: v})
	}
	return buildTable(kvs, defaultBlockBytes), nil
}

func writeTemp(final string, b []byte) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(final), filepath.Base(final)+".tmp*")
	if err != nil {
		return "", err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	// Some filesystems refuse to sync directories; the renames are done.
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
