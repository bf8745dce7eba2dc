package tensorboard

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// maskCRC is TFRecord's CRC masking (rotate right by 15, add a constant).
func maskCRC(c uint32) uint32 { return ((c >> 15) | (c << 17)) + 0xa282ead8 }

// appendRecord appends one TFRecord frame around data.
func appendRecord(dst, data []byte) []byte {
	var hdr [12]byte
	binary.LittleEndian.PutUint64(hdr[:8], uint64(len(data)))
	binary.LittleEndian.PutUint32(hdr[8:], maskCRC(crc32.Checksum(hdr[:8], castagnoli)))
	dst = append(dst, hdr[:]...)
	dst = append(dst, data...)
	return binary.LittleEndian.AppendUint32(dst, maskCRC(crc32.Checksum(data, castagnoli)))
}

// ErrCorrupt is wrapped by errors about damaged records.
var ErrCorrupt = errors.New("corrupt TFRecord")

// maxRecord bounds a record's length so a damaged header cannot make the
// reader allocate without limit.
const maxRecord = 64 << 20

// readRecord reads one frame; io.EOF at a clean end, io.ErrUnexpectedEOF
// for a torn last record.
func readRecord(r io.Reader) ([]byte, error) {
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.LittleEndian.Uint64(hdr[:8])
	if maskCRC(crc32.Checksum(hdr[:8], castagnoli)) != binary.LittleEndian.Uint32(hdr[8:]) {
		return nil, fmt.Errorf("%w: length CRC mismatch", ErrCorrupt)
	}
	if n > maxRecord {
		return nil, fmt.Errorf("%w: record length %d over %d", ErrCorrupt, n, maxRecord)
	}
	buf := make([]byte, n+4)
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	data := buf[:n]
	if maskCRC(crc32.Checksum(data, castagnoli)) != binary.LittleEndian.Uint32(buf[n:]) {
		return nil, fmt.Errorf("%w: data CRC mismatch", ErrCorrupt)
	}
	return data, nil
}
