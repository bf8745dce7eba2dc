//go:build tensorflow

package main

import (
	tf "github.com/wamuir/graft/tensorflow"

	"github.com/graftrain/graftrain/config"
	"github.com/graftrain/graftrain/tf/session"
)

// tensorflowVersion reports the version of the libtensorflow this binary
// is linked against, as graft reads it from the C API (TF_Version).
func tensorflowVersion() (string, bool) { return tf.Version(), true }

// tensorflowDevices lists the devices a session with the device.* settings
// d sees.
func tensorflowDevices(d config.Device) ([]deviceInfo, error) {
	devs, err := session.ListDevices(d)
	if err != nil {
		return nil, err
	}
	out := make([]deviceInfo, len(devs))
	for i, dv := range devs {
		out[i] = deviceInfo{Name: dv.Name, Type: dv.Type, MemoryLimitBytes: dv.MemoryLimitBytes}
	}
	return out, nil
}
