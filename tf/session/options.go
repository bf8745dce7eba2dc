package session

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	corepb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"

	"github.com/graftrain/graftrain/config"
)

// Device kinds of the device.kind key.
const (
	DeviceAuto = "auto"
	DeviceCPU  = "cpu"
	DeviceGPU  = "gpu"
)

// DevicePlan is the device config after validation: the kind to require
// and the GPU list to make visible.
type DevicePlan struct {
	Kind string // auto, cpu or gpu
	GPUs string // visible_device_list, "" for all
}

// PlanDevice validates d. kind "gpu:N[,M]" is shorthand for kind gpu with
// gpus "N[,M]".
func PlanDevice(d config.Device) (DevicePlan, error) {
	p := DevicePlan{Kind: d.Kind, GPUs: d.GPUs}
	if k, list, ok := strings.Cut(d.Kind, ":"); ok && k == DeviceGPU {
		if d.GPUs != "" && d.GPUs != list {
			return p, fmt.Errorf("device.kind %q and device.gpus %q name different GPUs; set one of them", d.Kind, d.GPUs)
		}
		p.Kind, p.GPUs = DeviceGPU, list
	}
	if p.Kind == "" {
		p.Kind = DeviceAuto
	}
	var errs []error
	switch p.Kind {
	case DeviceAuto, DeviceGPU:
	case DeviceCPU:
		if p.GPUs != "" {
			errs = append(errs, fmt.Errorf("device.gpus %q is set but device.kind is cpu; clear one of them", p.GPUs))
		}
	default:
		errs = append(errs, fmt.Errorf("device.kind %q: want auto, cpu, gpu or gpu:N", d.Kind))
	}
	if p.GPUs != "" {
		seen := map[int]bool{}
		for _, f := range strings.Split(p.GPUs, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 0 {
				errs = append(errs, fmt.Errorf("device.gpus %q: %q is not a GPU index (want a comma-separated list like 0,1)", p.GPUs, f))
				continue
			}
			if seen[n] {
				errs = append(errs, fmt.Errorf("device.gpus %q: GPU %d listed twice", p.GPUs, n))
			}
			seen[n] = true
		}
	}
	if d.MemoryFraction < 0 || d.MemoryFraction > 1 {
		errs = append(errs, fmt.Errorf("device.memory_fraction %g: want 0 (TensorFlow's default) up to 1", d.MemoryFraction))
	}
	// ConfigProto's thread counts are int32; a larger value would wrap.
	if d.IntraOpThreads < 0 || d.IntraOpThreads > math.MaxInt32 {
		errs = append(errs, fmt.Errorf("device.intra_op_threads %d: want 0 (TensorFlow chooses) or a thread count", d.IntraOpThreads))
	}
	if d.InterOpThreads < 0 || d.InterOpThreads > math.MaxInt32 {
		errs = append(errs, fmt.Errorf("device.inter_op_threads %d: want 0 (TensorFlow chooses) or a thread count", d.InterOpThreads))
	}
	return p, errors.Join(errs...)
}

// ConfigProto builds the session's tensorflow.ConfigProto from the device
// config. Thread pools and GPU options take effect process-wide: the first
// session a process creates decides them.
func ConfigProto(d config.Device) (*corepb.ConfigProto, error) {
	p, err := PlanDevice(d)
	if err != nil {
		return nil, err
	}
	jit := corepb.OptimizerOptions_OFF
	if d.XLA {
		jit = corepb.OptimizerOptions_ON_1
	}
	c := &corepb.ConfigProto{
		IntraOpParallelismThreads: int32(d.IntraOpThreads),
		InterOpParallelismThreads: int32(d.InterOpThreads),
		AllowSoftPlacement:        d.SoftPlacement,
		GraphOptions: &corepb.GraphOptions{
			OptimizerOptions: &corepb.OptimizerOptions{GlobalJitLevel: jit},
		},
	}
	if p.Kind == DeviceCPU {
		c.DeviceCount = map[string]int32{"GPU": 0}
		return c, nil
	}
	c.GpuOptions = &corepb.GPUOptions{
		AllowGrowth:                 d.MemoryGrowth,
		PerProcessGpuMemoryFraction: d.MemoryFraction,
		VisibleDeviceList:           strings.ReplaceAll(p.GPUs, " ", ""),
	}
	return c, nil
}

// SessionConfig returns ConfigProto(d) serialised, the bytes graft's
// SessionOptions.Config takes.
func SessionConfig(d config.Device) ([]byte, error) {
	c, err := ConfigProto(d)
	if err != nil {
		return nil, err
	}
	b, err := proto.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("marshal ConfigProto: %w", err)
	}
	return b, nil
}
