//go:build !tensorflow

package main

import "github.com/graftrain/graftrain/config"

// tensorflowVersion reports that this binary was built without the
// tensorflow tag and so cannot load SavedModels.
func tensorflowVersion() (string, bool) { return "", false }

// tensorflowDevices is never called without TensorFlow: there is no
// runtime to ask.
func tensorflowDevices(config.Device) ([]deviceInfo, error) { return nil, nil }
