// Package savedmodel reads a TensorFlow SavedModel directory in pure Go (no
// cgo, no libtensorflow): saved_model.pb through graft's generated protobuf
// types (meta graphs by tag set, signatures, variables, assets, saver_def,
// meta info), the files in assets/, and checks the graftrain training
// contract defined in package graphs, reporting every requirement as met or
// missing with what to change in the export.
package savedmodel
