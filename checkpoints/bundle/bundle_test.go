package bundle

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	pb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"

	"github.com/graftrain/graftrain/internal/fixtures"
)

func TestHalfPlusTwoValues(t *testing.T) {
	c, err := Open(filepath.Join(fixtures.HalfPlusTwo(t), "variables", "variables"))
	if err != nil {
		t.Fatal(err)
	}
	if got := keys(c.Index); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("keys = %v", got)
	}
	want := map[string]float32{"a": 0.5, "b": 2, "c": 3}
	for k, w := range want {
		v, err := c.Float32s(k)
		if err != nil {
			t.Fatal(err)
		}
		if len(v) != 1 || v[0] != w {
			t.Errorf("%s = %v, want [%v]", k, v, w)
		}
		e, _ := c.Index.Lookup(k)
		if e.DType != Float32 || len(e.Shape) != 0 || e.Size != 4 {
			t.Errorf("%s entry = %+v, want float32 scalar of 4 bytes", k, e)
		}
	}
	rep, err := c.Verify(context.Background())
	if err != nil || !rep.OK() || rep.Checked != 3 {
		t.Fatalf("verify: %v %+v %v", err, rep, rep.Err())
	}
}

func TestRegressionFixture(t *testing.T) {
	dir := fixtures.Path(t, "tf2_regression_train")
	c, err := Open(filepath.Join(dir, "variables", "variables.index"))
	if err != nil {
		t.Fatal(err)
	}
	wantKeys := []string{
		"_CHECKPOINTABLE_OBJECT_GRAPH",
		"b/.ATTRIBUTES/VARIABLE_VALUE",
		"optimizer/decay/.ATTRIBUTES/VARIABLE_VALUE",
		"optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE",
		"optimizer/learning_rate/.ATTRIBUTES/VARIABLE_VALUE",
		"optimizer/momentum/.ATTRIBUTES/VARIABLE_VALUE",
		"w/.ATTRIBUTES/VARIABLE_VALUE",
	}
	if got := keys(c.Index); !slices.Equal(got, wantKeys) {
		t.Fatalf("keys = %v", got)
	}
	if c.Index.Header.NumShards != 1 || c.Index.Header.Endianness != "LITTLE" {
		t.Errorf("header = %+v", c.Index.Header)
	}
	for key, want := range map[string][]float32{
		"w/.ATTRIBUTES/VARIABLE_VALUE":                       {0.20429754},
		"b/.ATTRIBUTES/VARIABLE_VALUE":                       {0},
		"optimizer/learning_rate/.ATTRIBUTES/VARIABLE_VALUE": {0.5},
		"optimizer/momentum/.ATTRIBUTES/VARIABLE_VALUE":      {0},
		"optimizer/decay/.ATTRIBUTES/VARIABLE_VALUE":         {0},
	} {
		got, err := c.Float32s(key)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s = %v, want %v", key, got, want)
		}
	}
	if e, _ := c.Index.Lookup("optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE"); e.DType != Int64 || len(e.Shape) != 0 {
		t.Errorf("iter entry = %+v, want int64 scalar", e)
	}
	if _, err := c.Int64s("optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE"); err != nil {
		t.Error(err)
	}
	if _, err := c.Float32s("optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE"); err == nil {
		t.Error("reading an int64 as float32 succeeded")
	}
	if _, err := c.Float32s("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing key: %v", err)
	}
	// The object graph is a string scalar holding a TrackableObjectGraph
	// whose root has the children w, b and optimizer.
	s, err := c.Strings(ObjectGraphKey)
	if err != nil || len(s) != 1 {
		t.Fatalf("object graph: %v (%d strings)", err, len(s))
	}
	var og pb.TrackableObjectGraph
	if err := proto.Unmarshal(s[0], &og); err != nil {
		t.Fatal(err)
	}
	var root []string
	for _, ch := range og.GetNodes()[0].GetChildren() {
		root = append(root, ch.GetLocalName())
	}
	sort.Strings(root)
	for _, want := range []string{"b", "optimizer", "w"} {
		if _, ok := slices.BinarySearch(root, want); !ok {
			t.Errorf("object graph root children %v lack %q", root, want)
		}
	}
	rep, err := c.Verify(context.Background())
	if err != nil || !rep.OK() || rep.Checked != 7 {
		t.Fatalf("verify: %v %+v %v", err, rep, rep.Err())
	}
	if rep.Shards[0].Size != 565 || rep.Shards[0].Expected != 565 {
		t.Errorf("shard = %+v, want 565 bytes", rep.Shards[0])
	}
}

func TestMaskRCNNIndex(t *testing.T) {
	path := filepath.Join(fixtures.Path(t, "tf2_od_maskrcnn_ckpt_index"), "ckpt-0.index")
	ix, err := ReadIndexFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if ix.Table.FileSize != 15867 || len(ix.Table.Data) != 1 || !ix.Table.Data[0].Compressed {
		t.Fatalf("table = %+v, want one Snappy block in 15867 bytes", ix.Table)
	}
	var floats, params int64
	var objectGraph Entry
	for _, e := range ix.Entries {
		switch {
		case e.DType == Float32:
			floats++
			params += e.NumElements()
		case e.Key == ObjectGraphKey:
			objectGraph = e
		}
		if !strings.HasSuffix(e.Key, "/.ATTRIBUTES/VARIABLE_VALUE") && e.Key != ObjectGraphKey {
			t.Errorf("unexpected key %q", e.Key)
		}
	}
	if floats != 914 || params != 65007685 {
		t.Errorf("float32 tensors = %d with %d parameters, want 914 and 65,007,685", floats, params)
	}
	// TensorFlow appends tensors back to back: the floats and the int64
	// save counter come first, the object graph last, ending the shard.
	if objectGraph.DType != String || objectGraph.Offset != 4*params+8 {
		t.Errorf("object graph entry = %+v, want a string at offset %d", objectGraph, 4*params+8)
	}
	sizes := ix.ShardSizes()
	if len(sizes) != 1 || sizes[0] != objectGraph.Offset+objectGraph.Size {
		t.Errorf("shard sizes = %v, want [%d]", sizes, objectGraph.Offset+objectGraph.Size)
	}
	c, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := c.Verify(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || rep.Shards[0].Exists || !strings.Contains(rep.Err().Error(), "data shard missing") {
		t.Errorf("verify without data: %+v / %v", rep, rep.Err())
	}
	if rep.Skipped != len(ix.Entries) || len(rep.Bad) != 0 {
		t.Errorf("skipped %d bad %d, want %d and 0", rep.Skipped, len(rep.Bad), len(ix.Entries))
	}
}

// TestRewriteMatchesTensorFlow writes the tensors of real TensorFlow
// checkpoints again with Writer and expects the very same bytes.
func TestRewriteMatchesTensorFlow(t *testing.T) {
	prefixes := map[string]func(testing.TB) string{
		"half_plus_two": func(t testing.TB) string { return filepath.Join(fixtures.HalfPlusTwo(t), "variables", "variables") },
		"regression": func(t testing.TB) string {
			return filepath.Join(fixtures.Path(t, "tf2_regression_train"), "variables", "variables")
		},
	}
	for name, prefix := range prefixes {
		t.Run(name, func(t *testing.T) {
			src, err := Open(prefix(t))
			if err != nil {
				t.Fatal(err)
			}
			byOffset := slices.Clone(src.Index.Entries)
			slices.SortFunc(byOffset, func(a, b Entry) int { return int(a.Offset - b.Offset) })
			out := filepath.Join(t.TempDir(), "ckpt")
			w, err := NewWriter(out)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range byOffset {
				raw, _, err := src.Raw(e.Key)
				if err != nil {
					t.Fatal(err)
				}
				if e.DType == String {
					s, serr := src.Strings(e.Key)
					if serr != nil {
						t.Fatal(serr)
					}
					err = w.AddStrings(e.Key, e.Shape, s)
				} else {
					err = w.Add(e.Key, e.DType, e.Shape, raw)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Finish(); err != nil {
				t.Fatal(err)
			}
			for _, pair := range [][2]string{
				{IndexPath(src.Prefix), IndexPath(out)},
				{DataPath(src.Prefix, 0, 1), DataPath(out, 0, 1)},
			} {
				a, _ := os.ReadFile(pair[0])
				b, err := os.ReadFile(pair[1])
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(a, b) {
					t.Errorf("%s differs from TensorFlow's %s (%d vs %d bytes)", filepath.Base(pair[1]), filepath.Base(pair[0]), len(b), len(a))
				}
			}
		})
	}
}

func TestWriterRoundTrip(t *testing.T) {
	out := filepath.Join(t.TempDir(), "ckpt-7")
	w, err := NewWriter(out)
	if err != nil {
		t.Fatal(err)
	}
	floats := map[string][]float32{}
	for i := range 300 { // several restart intervals
		key := "model/layer_" + string(rune('a'+i%26)) + "/" + strings.Repeat("x", i%7) + "/kernel"
		if _, dup := floats[key]; dup {
			continue
		}
		v := make([]float32, i%5+1)
		for j := range v {
			v[j] = float32(i) + float32(j)/8
		}
		v[0] = float32(math.Inf(1 - 2*(i%2)))
		floats[key] = v
		if err := w.AddFloat32(key, []int64{int64(len(v))}, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.AddInt64("step", nil, []int64{-42}); err != nil {
		t.Fatal(err)
	}
	strs := [][]byte{[]byte("hello"), {}, bytes.Repeat([]byte{0xff}, 300)}
	if err := w.AddStrings("names", []int64{3}, strs); err != nil {
		t.Fatal(err)
	}
	if err := w.AddInt64("step", nil, []int64{1}); err == nil {
		t.Error("duplicate key accepted")
	}
	if err := w.AddFloat32("bad", []int64{3}, []float32{1}); err == nil {
		t.Error("shape/size mismatch accepted")
	}
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	c, err := Open(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Index.Entries) != len(floats)+2 {
		t.Fatalf("%d entries, want %d", len(c.Index.Entries), len(floats)+2)
	}
	for k, want := range floats {
		got, err := c.Float32s(k)
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("%s = %v, %v; want %v", k, got, err, want)
		}
	}
	if got, err := c.Int64s("step"); err != nil || !slices.Equal(got, []int64{-42}) {
		t.Errorf("step = %v, %v", got, err)
	}
	got, err := c.Strings("names")
	if err != nil || len(got) != 3 || !bytes.Equal(got[0], strs[0]) || len(got[1]) != 0 || !bytes.Equal(got[2], strs[2]) {
		t.Errorf("names = %q, %v", got, err)
	}
	rep, err := c.Verify(context.Background())
	if err != nil || !rep.OK() || rep.Checked != len(floats)+2 {
		t.Errorf("verify: %+v %v", rep, rep.Err())
	}
	matches, _ := filepath.Glob(out + "*")
	if len(matches) != 2 {
		t.Errorf("files after Finish: %v, want the index and one data shard", matches)
	}
}

// TestTableManyBlocks builds tables with tiny blocks, so the index block has
// many separators, and reads them back.
func TestTableManyBlocks(t *testing.T) {
	var in []kv
	for i := range 500 {
		k := []byte(strings.Repeat("k", i%9) + string(rune('A'+i/26%26)) + string(rune('a'+i%26)))
		in = append(in, kv{key: k, value: bytes.Repeat([]byte{byte(i)}, i%13)})
	}
	slices.SortFunc(in, func(a, b kv) int { return bytes.Compare(a.key, b.key) })
	in = slices.CompactFunc(in, func(a, b kv) bool { return bytes.Equal(a.key, b.key) })
	for _, bs := range []int{1, 64, 1000, defaultBlockBytes} {
		got, info, err := readTable(buildTable(in, bs))
		if err != nil {
			t.Fatalf("block size %d: %v", bs, err)
		}
		if len(got) != len(in) {
			t.Fatalf("block size %d: %d entries, want %d", bs, len(got), len(in))
		}
		for i := range in {
			if !bytes.Equal(got[i].key, in[i].key) || !bytes.Equal(got[i].value, in[i].value) {
				t.Fatalf("block size %d: entry %d = %q, want %q", bs, i, got[i].key, in[i].key)
			}
		}
		if bs == 1 && len(info.Data) != len(in) {
			t.Errorf("block size 1: %d blocks, want one per entry", len(info.Data))
		}
	}
}

func TestSeparators(t *testing.T) {
	for _, tc := range []struct{ a, b, sep string }{
		{"abc", "abe", "abd"},
		{"abc", "abd", "abc"},
		{"ab", "abc", "ab"},
		{"a/kernel", "b/bias", "a/kernel"},
		{"a", "c", "b"},
	} {
		if got := string(shortestSeparator([]byte(tc.a), []byte(tc.b))); got != tc.sep {
			t.Errorf("separator(%q, %q) = %q, want %q", tc.a, tc.b, got, tc.sep)
		}
	}
	if got := string(shortSuccessor([]byte("w/.ATTR"))); got != "x" {
		t.Errorf("successor = %q", got)
	}
	if got := shortSuccessor([]byte{0xff, 0xff}); !bytes.Equal(got, []byte{0xff, 0xff}) {
		t.Errorf("successor of 0xffff = %x", got)
	}
}

func TestMaskCRC(t *testing.T) {
	// LevelDB's masking is a rotation plus a constant; it must invert.
	for _, c := range []uint32{0, 1, 0xdeadbeef, math.MaxUint32} {
		if UnmaskCRC(MaskCRC(c)) != c {
			t.Errorf("unmask(mask(%#x)) != %#x", c, c)
		}
	}
	// CRC32C("123456789") is the standard check value 0xe3069283.
	if got := crc32c([]byte("123456789")); got != 0xe3069283 {
		t.Errorf("crc32c = %#x", got)
	}
}

// TestCorruptIndex damages real index files and expects errors, never
// panics: every truncation must fail; a flipped byte must either fail or
// (in padding) leave the parse unchanged.
func TestCorruptIndex(t *testing.T) {
	for _, b := range seedIndexes(t) {
		good, err := ParseIndex(b)
		if err != nil {
			t.Fatal(err)
		}
		for n := range len(b) {
			if _, err := ParseIndex(b[:n]); err == nil {
				t.Fatalf("truncated to %d of %d bytes: no error", n, len(b))
			} else if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("truncated to %d: error %v does not wrap ErrCorrupt", n, err)
			}
		}
		for i := range b {
			c := slices.Clone(b)
			c[i] ^= 0x41
			ix, err := ParseIndex(c)
			if err == nil && len(ix.Entries) != len(good.Entries) {
				t.Fatalf("flip at %d: parsed %d entries without error, want %d", i, len(ix.Entries), len(good.Entries))
			}
		}
	}
}

func TestVerifyDetectsDamage(t *testing.T) {
	dir := fixtures.Path(t, "tf2_regression_train")
	tmp := t.TempDir()
	for _, f := range []string{"variables.index", "variables.data-00000-of-00001"} {
		b, err := os.ReadFile(filepath.Join(dir, "variables", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tmp, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data := filepath.Join(tmp, "variables.data-00000-of-00001")
	b, _ := os.ReadFile(data)
	b[1] ^= 1 // inside w (offset 0)
	os.WriteFile(data, b, 0o644)
	c, err := Open(filepath.Join(tmp, "variables"))
	if err != nil {
		t.Fatal(err)
	}
	rep, _ := c.Verify(context.Background())
	if len(rep.Bad) != 1 || rep.Bad[0].Key != "w/.ATTRIBUTES/VARIABLE_VALUE" || rep.Checked != 6 {
		t.Errorf("flipped w: %+v", rep)
	}
	if _, err := c.Float32s("w/.ATTRIBUTES/VARIABLE_VALUE"); !errors.Is(err, ErrCorrupt) {
		t.Errorf("reading damaged w: %v", err)
	}
	os.WriteFile(data, b[:100], 0o644)
	rep, _ = c.Verify(context.Background())
	if rep.OK() || !strings.Contains(rep.Shards[0].Problem, "truncated") {
		t.Errorf("truncated shard: %+v", rep.Shards)
	}
}

func seedIndexes(t testing.TB) [][]byte {
	var out [][]byte
	add := func(p string) {
		b, err := os.ReadFile(p)
		if err == nil {
			out = append(out, b)
		}
	}
	if dir, err := fixtures.HalfPlusTwoDir(); err == nil {
		add(filepath.Join(dir, "variables", "variables.index"))
	}
	for _, name := range []string{"tf2_regression_train/variables/variables.index", "tf2_od_maskrcnn_ckpt_index/ckpt-0.index"} {
		if p, ok := fixtures.Optional(name); ok {
			add(p)
		}
	}
	if len(out) == 0 {
		t.Skip("no seed index files found")
	}
	return out
}

func keys(ix *Index) []string {
	var k []string
	for _, e := range ix.Entries {
		k = append(k, e.Key)
	}
	return k
}

func BenchmarkParseIndexMaskRCNN(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(fixtures.Path(b, "tf2_od_maskrcnn_ckpt_index"), "ckpt-0.index"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ParseIndex(data); err != nil {
			b.Fatal(err)
		}
	}
}
