//go:build tensorflow

package main

import tf "github.com/wamuir/graft/tensorflow"

// tensorflowVersion reports the version of the libtensorflow this binary
// is linked against, as graft reads it from the C API (TF_Version).
func tensorflowVersion() (string, bool) { return tf.Version(), true }
