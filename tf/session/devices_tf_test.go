//go:build tensorflow

package session

import (
	"strings"
	"testing"

	"github.com/graftrain/graftrain/config"
)

// Every TensorFlow build has a CPU device; a cpu session must list no GPU.
func TestListDevices(t *testing.T) {
	devs, err := ListDevices(config.Device{Kind: DeviceCPU, SoftPlacement: true})
	if err != nil {
		t.Fatal(err)
	}
	var cpu bool
	for _, d := range devs {
		if d.Type == "GPU" {
			t.Errorf("device.kind cpu lists GPU %s", d.Name)
		}
		if d.Type == "CPU" && strings.HasSuffix(d.Name, "CPU:0") {
			cpu = true
		}
	}
	if !cpu {
		t.Errorf("devices %v: no CPU:0", devs)
	}
	if _, err := ListDevices(config.Device{Kind: "tpu"}); err == nil {
		t.Error("device.kind tpu: want an error")
	}
}
