//go:build tensorflow

package session

import (
	"bytes"
	"context"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	tf "github.com/wamuir/graft/tensorflow"

	"github.com/graftrain/graftrain/checkpoints/bundle"
	"github.com/graftrain/graftrain/config"
	"github.com/graftrain/graftrain/internal/fixtures"
	"github.com/graftrain/graftrain/tf/savedmodel"
)

const (
	keyW    = "w/.ATTRIBUTES/VARIABLE_VALUE"
	keyB    = "b/.ATTRIBUTES/VARIABLE_VALUE"
	keyIter = "optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE"
)

func cpuOptions() Options {
	return Options{Tags: []string{"serve"}, Device: config.Device{Kind: DeviceCPU, SoftPlacement: true}, Logger: zerolog.Nop()}
}

// autoOptions uses a GPU when the session lists one, growing its memory
// as needed rather than taking it all for the test process.
func autoOptions() Options {
	o := cpuOptions()
	o.Device.Kind = DeviceAuto
	o.Device.MemoryGrowth = true
	return o
}

func openRegression(t *testing.T) (*Model, string) {
	t.Helper()
	return openRegressionWith(t, cpuOptions())
}

func openRegressionWith(t *testing.T, o Options) (*Model, string) {
	t.Helper()
	dir := fixtures.Path(t, "tf2_regression_train")
	m, err := Open(context.Background(), dir, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Error(err)
		}
	})
	return m, dir
}

// variable reads w or b through its signature ({"output": value}).
func variable(t *testing.T, m *Model, name string) float32 {
	t.Helper()
	out, err := m.Call(context.Background(), name, nil, "output")
	if err != nil {
		t.Fatal(err)
	}
	v, err := floatsOf(out[0], nil)
	if err != nil || len(v) != 1 {
		t.Fatalf("%s = %v, %v", name, v, err)
	}
	return v[0]
}

// trainSteps runs the train signature n times on y = 3x + 2 for x in
// [0, 1) and returns the first and last loss.
func trainSteps(t *testing.T, m *Model, n int) (first, last float32) {
	t.Helper()
	xs := make([]float32, 100)
	ys := make([]float32, 100)
	for i := range xs {
		xs[i] = float32(i) / 100
		ys[i] = 3*xs[i] + 2
	}
	x, err := tf.NewTensor(xs)
	if err != nil {
		t.Fatal(err)
	}
	y, err := tf.NewTensor(ys)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		out, err := m.Call(context.Background(), "train", map[string]*tf.Tensor{"x": x, "y": y}, "loss")
		if err != nil {
			t.Fatal(err)
		}
		l, err := scalarOf(out[0])
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = l
		}
		last = l
	}
	return first, last
}

func TestRegressionOpen(t *testing.T) {
	m, _ := openRegression(t)
	if len(m.Devices) == 0 {
		t.Fatal("no devices listed")
	}
	for _, d := range m.Devices {
		if d.Type == "GPU" {
			t.Errorf("device.kind cpu but the session lists %s", d.Name)
		}
	}
	if m.Signature(savedmodel.InitOpSignature) != nil {
		t.Error("the init op is listed as a signature")
	}
	if s := m.Signature("train"); s == nil || s.Inputs["x"].Output.Op.Name() != "train_x" {
		t.Errorf("train signature not resolved: %+v", s)
	}
	// The stored values from the fixture's README.
	if w, b := variable(t, m, "w"), variable(t, m, "b"); w != 0.20429754 || b != 0 {
		t.Errorf("loaded w, b = %v, %v; want 0.20429754, 0", w, b)
	}
}

// Training converges on the CPU and on the device auto picks (the GPU
// where the session lists one, so a GPU machine trains on it here).
func TestRegressionTrainConverges(t *testing.T) {
	for name, o := range map[string]Options{"cpu": cpuOptions(), "auto": autoOptions()} {
		t.Run(name, func(t *testing.T) {
			m, _ := openRegressionWith(t, o)
			first, last := trainSteps(t, m, 300)
			w, b := variable(t, m, "w"), variable(t, m, "b")
			t.Logf("device %s: loss %g -> %g, w = %g, b = %g", m.TrainingDevice, first, last, w, b)
			if math.Abs(float64(w)-3) > 0.01 || math.Abs(float64(b)-2) > 0.01 {
				t.Errorf("after 300 steps w, b = %g, %g; want 3, 2", w, b)
			}
			if !(last < first/1000) {
				t.Errorf("loss %g -> %g did not fall by 1000x", first, last)
			}
		})
	}
}

func TestRegressionSaveRestore(t *testing.T) {
	ctx := context.Background()
	m, dir := openRegression(t)
	orig, err := bundle.Open(filepath.Join(dir, "variables", "variables"))
	if err != nil {
		t.Fatal(err)
	}
	iter0, err := orig.Int64s(keyIter)
	if err != nil {
		t.Fatal(err)
	}

	trainSteps(t, m, 20)
	w, b := variable(t, m, "w"), variable(t, m, "b")
	prefix := filepath.Join(t.TempDir(), "ckpt", "ckpt-20")
	if err := m.Save(ctx, prefix); err != nil {
		t.Fatal(err)
	}
	ck, err := bundle.Open(prefix)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := ck.Verify(ctx)
	if err != nil || !rep.OK() {
		t.Fatalf("saved checkpoint does not verify: %v %v", err, rep.Err())
	}
	for key, want := range map[string]float32{keyW: w, keyB: b} {
		got, err := ck.Float32s(key)
		if err != nil || len(got) != 1 || math.Float32bits(got[0]) != math.Float32bits(want) {
			t.Errorf("checkpoint %s = %v, %v; session has %v", key, got, err, want)
		}
	}
	if it, err := ck.Int64s(keyIter); err != nil || it[0] != iter0[0]+20 {
		t.Errorf("checkpoint iter = %v, %v; want %d", it, err, iter0[0]+20)
	}
	// Every key of the exported checkpoint is in ours, object graph included.
	for _, e := range orig.Index.Entries {
		if _, ok := ck.Index.Lookup(e.Key); !ok {
			t.Errorf("saved checkpoint lacks %s", e.Key)
		}
	}

	// Train on, then restore: the session goes back to the saved values,
	// and saving again writes the same tensors bit for bit.
	trainSteps(t, m, 5)
	if variable(t, m, "w") == w {
		t.Fatal("w did not move in 5 more steps")
	}
	if err := m.Restore(ctx, prefix); err != nil {
		t.Fatal(err)
	}
	if gw, gb := variable(t, m, "w"), variable(t, m, "b"); gw != w || gb != b {
		t.Errorf("restored w, b = %v, %v; want %v, %v", gw, gb, w, b)
	}
	again := filepath.Join(t.TempDir(), "again")
	if err := m.Save(ctx, again); err != nil {
		t.Fatal(err)
	}
	sameTensors(t, prefix, again, nil)

	// The model's own variables restore too.
	if err := m.Restore(ctx, filepath.Join(dir, "variables", "variables")); err != nil {
		t.Fatal(err)
	}
	if w := variable(t, m, "w"); w != 0.20429754 {
		t.Errorf("w after restoring the exported variables = %v", w)
	}
	if err := m.Restore(ctx, filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("restore of a missing checkpoint: no error")
	}
}

// sameTensors fails t unless checkpoints a and b hold the same keys with
// the same bytes, except the keys skip accepts.
func sameTensors(t *testing.T, a, b string, skip func(bundle.Entry) bool) {
	t.Helper()
	ca, err := bundle.Open(a)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := bundle.Open(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(ca.Index.Entries) != len(cb.Index.Entries) {
		t.Errorf("%s has %d entries, %s has %d", a, len(ca.Index.Entries), b, len(cb.Index.Entries))
	}
	for _, e := range ca.Index.Entries {
		if e.Key == bundle.ObjectGraphKey || (skip != nil && skip(e)) {
			continue
		}
		ra, _, err := ca.Raw(e.Key)
		if err != nil {
			t.Fatal(err)
		}
		rb, _, err := cb.Raw(e.Key)
		if err != nil {
			t.Errorf("%s: %v", e.Key, err)
			continue
		}
		if !bytes.Equal(ra, rb) {
			t.Errorf("%s differs between %s and %s", e.Key, a, b)
		}
	}
}

func TestOpenGPURequiredWithoutGPU(t *testing.T) {
	dir := fixtures.Path(t, "tf2_regression_train")
	// The probe must be allowed to see GPUs: a cpu session (device_count
	// GPU 0) lists none even on a GPU machine.
	probe, err := Open(context.Background(), dir, autoOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	for _, d := range probe.Devices {
		if d.Type == "GPU" {
			t.Skip("this machine has a GPU")
		}
	}
	o := cpuOptions()
	o.Device.Kind = DeviceGPU
	if m, err := Open(context.Background(), dir, o); err == nil {
		m.Close()
		t.Fatal("device.kind gpu without a GPU: no error")
	}
}

// The regression model has no contract signatures: NewRunner refuses it
// with the contract report, and calls name what is wrong.
func TestRegressionNotAContractModel(t *testing.T) {
	m, _ := openRegression(t)
	_, err := NewRunner(m)
	var ce *savedmodel.ContractError
	if !errors.As(err, &ce) {
		t.Fatalf("NewRunner: %v, want a *savedmodel.ContractError", err)
	}
	if !strings.Contains(err.Error(), "signature train_step") {
		t.Errorf("report does not name train_step:\n%v", err)
	}
	if _, err := m.Call(context.Background(), "train_step", nil); err == nil || !strings.Contains(err.Error(), "it has b, train, w") {
		t.Errorf("call of a missing signature: %v", err)
	}
	if _, err := m.Call(context.Background(), "train", nil, "nope"); err == nil || !strings.Contains(err.Error(), `no output "nope"`) {
		t.Errorf("unknown output: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Call(ctx, "w", nil, "output"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}
