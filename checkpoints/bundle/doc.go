// Package bundle reads and writes TensorFlow TensorBundle checkpoints, the
// format of V2 savers (`prefix.index` plus `prefix.data-SSSSS-of-NNNNN`), in
// pure Go.
//
// The index is a LevelDB-style sorted table: data blocks of prefix-compressed
// key/value entries (optionally Snappy-compressed), each followed by a
// five-byte trailer (block type, masked CRC32C), an empty meta-index block,
// an index block pointing at the data blocks and a 48-byte footer ending in
// the table magic number. The entry with the empty key holds a
// BundleHeaderProto; every other entry maps a tensor name to a
// BundleEntryProto (dtype, shape, shard, offset, size, masked CRC32C of the
// bytes in the data shard).
//
// The reader never trusts the file: every length and offset is bounds-checked
// and damaged input returns an error, never a panic. The writer produces an
// index and one data shard that TensorFlow's BundleReader accepts.
package bundle
