package bundle

import "hash/crc32"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// maskDelta is added to a rotated CRC so that a CRC of data that itself
// contains CRCs does not degenerate (LevelDB's masking).
const maskDelta = 0xa282ead8

func crc32c(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

func extendCRC(crc uint32, b []byte) uint32 { return crc32.Update(crc, castagnoli, b) }

// MaskCRC returns the masked form of a CRC32C as stored in TensorFlow files.
func MaskCRC(crc uint32) uint32 { return ((crc >> 15) | (crc << 17)) + maskDelta }

// UnmaskCRC inverts MaskCRC.
func UnmaskCRC(masked uint32) uint32 {
	rot := masked - maskDelta
	return (rot >> 17) | (rot << 15)
}
