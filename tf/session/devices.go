//go:build tensorflow

package session

import (
	"fmt"

	tf "github.com/wamuir/graft/tensorflow"

	"github.com/graftrain/graftrain/config"
)

// ListDevices opens a session on an empty graph with the session options of
// d and returns the devices TensorFlow gives it: what a training session
// with the same device.* settings would see. On a GPU build this loads CUDA
// (seconds); memory growth in the default config keeps it from taking the
// GPUs' memory.
func ListDevices(d config.Device) ([]tf.Device, error) {
	if _, err := PlanDevice(d); err != nil {
		return nil, err
	}
	cfg, err := SessionConfig(d)
	if err != nil {
		return nil, err
	}
	s, err := tf.NewSession(tf.NewGraph(), &tf.SessionOptions{Config: cfg})
	if err != nil {
		return nil, fmt.Errorf("open a TensorFlow session: %w", err)
	}
	defer s.Close()
	devs, err := s.ListDevices()
	if err != nil {
		return nil, fmt.Errorf("list TensorFlow devices: %w", err)
	}
	return devs, nil
}
