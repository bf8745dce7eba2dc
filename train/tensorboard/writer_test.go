package tensorboard

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"testing"
)

// TestMaskedCRCKnownValue checks the CRC32C and masking against values
// known independently: CRC32C("123456789") = 0xE3069283 (the Castagnoli
// check value) and TFRecord's masking of it.
func TestMaskedCRCKnownValue(t *testing.T) {
	c := crc32.Checksum([]byte("123456789"), castagnoli)
	if c != 0xE3069283 {
		t.Fatalf("crc32c = %#x", c)
	}
	want := ((c >> 15) | (c << 17)) + 0xa282ead8
	if got := maskCRC(c); got != want {
		t.Fatalf("mask = %#x, want %#x", got, want)
	}
}

func TestRecordFraming(t *testing.T) {
	rec := appendRecord(nil, []byte("hello"))
	if len(rec) != 8+4+5+4 {
		t.Fatalf("record length %d", len(rec))
	}
	if n := binary.LittleEndian.Uint64(rec); n != 5 {
		t.Fatalf("length field %d", n)
	}
	got, err := readRecord(bytes.NewReader(rec))
	if err != nil || string(got) != "hello" {
		t.Fatalf("read back %q, %v", got, err)
	}
	for _, i := range []int{0, 9, 13, len(rec) - 1} {
		bad := append([]byte(nil), rec...)
		bad[i] ^= 0x40
		if _, err := readRecord(bytes.NewReader(bad)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("flipped byte %d: err = %v, want ErrCorrupt", i, err)
		}
	}
}

func TestWriteReadBack(t *testing.T) {
	dir := t.TempDir()
	w, err := Create(dir, "test")
	if err != nil {
		t.Fatal(err)
	}
	for step := int64(1); step <= 3; step++ {
		if err := w.Scalars(step, []Scalar{{"loss/total", float64(step) * 0.5}, {"lr", 0.001}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Start(2); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	evs, err := ReadFile(w.Path())
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 5 {
		t.Fatalf("%d events, want 5", len(evs))
	}
	if evs[0].GetFileVersion() != FileVersion || evs[0].GetWallTime() <= 0 {
		t.Errorf("first event %v", evs[0])
	}
	for i, e := range evs[1:4] {
		vals := e.GetSummary().GetValue()
		if e.GetStep() != int64(i+1) || len(vals) != 2 || vals[0].GetTag() != "loss/total" || vals[0].GetSimpleValue() != float32(i+1)*0.5 {
			t.Errorf("event %d: %v", i+1, e)
		}
	}
	if evs[4].GetSessionLog().GetStatus().String() != "START" || evs[4].GetStep() != 2 {
		t.Errorf("last event %v", evs[4])
	}
	// A torn tail (a killed writer) reads as the events before it.
	data, _ := os.ReadFile(w.Path())
	os.WriteFile(w.Path(), data[:len(data)-3], 0o644)
	evs, err = ReadFile(w.Path())
	if err != nil || len(evs) != 4 {
		t.Errorf("torn file: %d events, %v", len(evs), err)
	}
}
