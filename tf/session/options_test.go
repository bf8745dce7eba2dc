package session

import (
	"strings"
	"testing"

	corepb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"

	"github.com/graftrain/graftrain/config"
)

func TestSessionConfig(t *testing.T) {
	base := config.Device{Kind: "auto", MemoryGrowth: true, SoftPlacement: true}
	tests := []struct {
		name  string
		edit  func(*config.Device)
		check func(t *testing.T, c *corepb.ConfigProto)
	}{
		{"auto", func(*config.Device) {}, func(t *testing.T, c *corepb.ConfigProto) {
			if c.GetDeviceCount() != nil || !c.GetGpuOptions().GetAllowGrowth() || !c.GetAllowSoftPlacement() {
				t.Errorf("auto: %v", c)
			}
			if c.GetGraphOptions().GetOptimizerOptions().GetGlobalJitLevel() != corepb.OptimizerOptions_OFF {
				t.Errorf("xla off: jit level %v", c.GetGraphOptions().GetOptimizerOptions().GetGlobalJitLevel())
			}
		}},
		{"cpu", func(d *config.Device) { d.Kind = "cpu" }, func(t *testing.T, c *corepb.ConfigProto) {
			if n, ok := c.GetDeviceCount()["GPU"]; !ok || n != 0 {
				t.Errorf("cpu: device_count %v, want GPU: 0", c.GetDeviceCount())
			}
			if c.GetGpuOptions() != nil {
				t.Errorf("cpu: gpu options %v", c.GetGpuOptions())
			}
		}},
		{"gpu:1,0 memory and threads", func(d *config.Device) {
			d.Kind, d.MemoryGrowth, d.MemoryFraction = "gpu:1,0", false, 0.5
			d.IntraOpThreads, d.InterOpThreads, d.XLA, d.SoftPlacement = 8, 2, true, false
		}, func(t *testing.T, c *corepb.ConfigProto) {
			g := c.GetGpuOptions()
			if g.GetVisibleDeviceList() != "1,0" || g.GetAllowGrowth() || g.GetPerProcessGpuMemoryFraction() != 0.5 {
				t.Errorf("gpu options %v", g)
			}
			if c.GetIntraOpParallelismThreads() != 8 || c.GetInterOpParallelismThreads() != 2 || c.GetAllowSoftPlacement() {
				t.Errorf("config %v", c)
			}
			if c.GetGraphOptions().GetOptimizerOptions().GetGlobalJitLevel() != corepb.OptimizerOptions_ON_1 {
				t.Errorf("xla on: %v", c.GetGraphOptions())
			}
		}},
		{"gpus key", func(d *config.Device) { d.Kind, d.GPUs = "gpu", "2" }, func(t *testing.T, c *corepb.ConfigProto) {
			if c.GetGpuOptions().GetVisibleDeviceList() != "2" {
				t.Errorf("visible_device_list %q", c.GetGpuOptions().GetVisibleDeviceList())
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := base
			tt.edit(&d)
			b, err := SessionConfig(d)
			if err != nil {
				t.Fatal(err)
			}
			// What TensorFlow receives is the wire form: decode it back.
			var c corepb.ConfigProto
			if err := proto.Unmarshal(b, &c); err != nil {
				t.Fatal(err)
			}
			tt.check(t, &c)
		})
	}
}

func TestPlanDeviceErrors(t *testing.T) {
	tests := []struct {
		d    config.Device
		want []string
	}{
		{config.Device{Kind: "tpu"}, []string{`device.kind "tpu"`}},
		{config.Device{Kind: "cpu", GPUs: "0"}, []string{"device.kind is cpu"}},
		{config.Device{Kind: "gpu:0", GPUs: "1"}, []string{"name different GPUs"}},
		{config.Device{Kind: "gpu", GPUs: "0,x,0"}, []string{`"x" is not a GPU index`}},
		{config.Device{Kind: "gpu", GPUs: "0,0"}, []string{"GPU 0 listed twice"}},
		{config.Device{Kind: "auto", MemoryFraction: 1.5, IntraOpThreads: -1, InterOpThreads: -2}, []string{"memory_fraction 1.5", "intra_op_threads -1", "inter_op_threads -2"}},
		// ConfigProto holds int32 thread counts: 2^31 would wrap to negative.
		{config.Device{Kind: "cpu", IntraOpThreads: 1 << 31, InterOpThreads: 1 << 32}, []string{"intra_op_threads 2147483648", "inter_op_threads 4294967296"}},
	}
	for _, tt := range tests {
		_, err := PlanDevice(tt.d)
		if err == nil {
			t.Errorf("%+v: no error", tt.d)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: error %q does not mention %q", tt.d, err, w)
			}
		}
	}
	if p, err := PlanDevice(config.Device{}); err != nil || p.Kind != DeviceAuto {
		t.Errorf("empty kind: %+v, %v; want auto", p, err)
	}
}

func TestVersionOlder(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"2.18.0", "2.5.0", false},
		{"2.5.0", "2.18.0", true},
		{"2.18.0", "2.18.1", true},
		{"2.18.1", "2.18.0", false},
		{"2.18.0", "2.18.0", false},
		{"2.18.0-rc1", "2.17.0", false},
		{"3.0", "2.18.0", false},
		{"", "2.18.0", false},
		{"2.18.0", "garbage", false},
	}
	for _, tt := range tests {
		if got := VersionOlder(tt.a, tt.b); got != tt.want {
			t.Errorf("VersionOlder(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}
