package bundle

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func FuzzParseIndex(f *testing.F) {
	for _, b := range seedIndexes(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ix, err := ParseIndex(b)
		if err != nil {
			return
		}
		ix.ShardSizes()
		for _, e := range ix.Entries {
			ix.Lookup(e.Key)
		}
		// A parsed index must survive the data side too: no shard exists.
		dir := t.TempDir()
		p := filepath.Join(dir, "x")
		if err := os.WriteFile(IndexPath(p), b, 0o644); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(DataPath(p, 0, 1), b, 0o644)
		c, err := Open(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Verify(context.Background()); err != nil {
			t.Fatal(err)
		}
		for _, e := range ix.Entries {
			c.Raw(e.Key)
			c.Strings(e.Key)
		}
	})
}

// FuzzParseBlock reaches past the block checksums that stop most random
// index mutations: it feeds raw (uncompressed) block contents.
func FuzzParseBlock(f *testing.F) {
	for _, b := range seedIndexes(f) {
		kvs, info, err := readTable(b)
		if err != nil {
			f.Fatal(err)
		}
		for _, d := range info.Data {
			raw, _, err := readBlock(b, blockHandle{d.Offset, d.StoredSize})
			if err != nil {
				f.Fatal(err)
			}
			f.Add(raw)
		}
		f.Add(buildTable(kvs, 64)[:64])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		kvs, err := parseBlock(b)
		if err != nil {
			return
		}
		// What parses must rebuild into a table that parses the same,
		// when its keys are in order.
		for i := 1; i < len(kvs); i++ {
			if string(kvs[i-1].key) >= string(kvs[i].key) {
				return
			}
		}
		got, _, err := readTable(buildTable(kvs, 128))
		if err != nil {
			t.Fatalf("rebuilt table: %v", err)
		}
		if len(got) != len(kvs) {
			t.Fatalf("rebuilt %d entries, want %d", len(got), len(kvs))
		}
	})
}

func FuzzDecodeStrings(f *testing.F) {
	f.Add([]byte{5, 'h', 'e', 'l', 'l', 'o'}, int64(1))
	f.Add([]byte{}, int64(0))
	f.Fuzz(func(t *testing.T, b []byte, n int64) {
		decodeStrings(b, n)
	})
}
