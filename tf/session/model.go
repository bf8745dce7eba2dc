//go:build tensorflow

package session

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rs/zerolog"
	tf "github.com/wamuir/graft/tensorflow"

	"github.com/graftrain/graftrain/config"
	"github.com/graftrain/graftrain/tf/savedmodel"
)

// Options says how to open a SavedModel.
type Options struct {
	Tags   []string      // MetaGraph tag set; empty means [serve]
	Device config.Device // device.* keys
	Logger zerolog.Logger
}

// Port is one signature input or output resolved to the graph.
type Port struct {
	Spec   savedmodel.Tensor
	Output tf.Output
}

// Signature is a SignatureDef with every tensor resolved to a graph output.
type Signature struct {
	Name    string
	Inputs  map[string]Port
	Outputs map[string]Port
}

// Model is an open SavedModel: its session, its graph and the resolved
// signatures and saver. Variable updates made by a signature stay in the
// session across calls, which is what training relies on.
type Model struct {
	// Saved and Graph are the SavedModel as read in pure Go: graft's
	// LoadSavedModel does not return the MetaGraphDef.
	Saved   *savedmodel.Model
	Graph   *savedmodel.MetaGraph
	Tags    []string
	Devices []tf.Device
	// TrainingDevice is the device ops are placed on first: the first GPU
	// the session lists, else the CPU.
	TrainingDevice string

	saved      *tf.SavedModel
	signatures map[string]*Signature
	unresolved map[string]error
	saver      *saverPorts
	log        zerolog.Logger
}

type saverPorts struct {
	filename tf.Output
	save     tf.Output
	restore  *tf.Operation
}

// Open loads the SavedModel in dir: it reads the MetaGraphDef in pure Go
// (graft's LoadSavedModel does not return it), loads the graph and
// variables through TF_LoadSessionFromSavedModel (which runs the restore
// and init ops), checks the devices against o.Device and resolves every
// signature tensor and the saver_def once.
func Open(ctx context.Context, dir string, o Options) (*Model, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	tags := o.Tags
	if len(tags) == 0 {
		tags = []string{"serve"}
	}
	sm, err := savedmodel.Load(dir)
	if err != nil {
		return nil, err
	}
	g, err := sm.MetaGraph(tags...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	plan, err := PlanDevice(o.Device)
	if err != nil {
		return nil, err
	}
	cfg, err := SessionConfig(o.Device)
	if err != nil {
		return nil, err
	}
	log := o.Logger.With().Str("model", dir).Logger()
	runtimeVersion := tf.Version()
	older := VersionOlder(runtimeVersion, g.TensorFlowVersion)
	if older {
		log.Warn().Str("runtime", runtimeVersion).Str("exported_by", g.TensorFlowVersion).
			Msg("the TensorFlow library is older than the TensorFlow that exported the model; loading may fail on unknown ops")
	}
	saved, err := tf.LoadSavedModel(dir, tags, &tf.SessionOptions{Config: cfg})
	if err != nil {
		err = fmt.Errorf("load SavedModel %s (tags %v) with TensorFlow %s: %w", dir, tags, runtimeVersion, err)
		if older {
			err = fmt.Errorf("%w (the model was exported by TensorFlow %s; use a library at least as new)", err, g.TensorFlowVersion)
		}
		return nil, err
	}
	m := &Model{Saved: sm, Graph: g, Tags: tags, saved: saved, signatures: map[string]*Signature{}, unresolved: map[string]error{}, log: log}
	if err := m.init(plan); err != nil {
		_ = saved.Session.Close()
		return nil, fmt.Errorf("open SavedModel %s: %w", dir, err)
	}
	return m, nil
}

func (m *Model) init(plan DevicePlan) error {
	devices, err := m.saved.Session.ListDevices()
	if err != nil {
		return fmt.Errorf("list session devices: %w", err)
	}
	m.Devices = devices
	var gpus []string
	for _, d := range devices {
		m.log.Info().Str("device", d.Name).Str("type", d.Type).Int64("memory_limit_bytes", d.MemoryLimitBytes).Msg("session device")
		if d.Type == "GPU" {
			gpus = append(gpus, d.Name)
		}
	}
	switch {
	case plan.Kind == DeviceGPU && len(gpus) == 0:
		return fmt.Errorf("device.kind is gpu but the TensorFlow session lists no GPU (devices: %v); check that libtensorflow is the GPU build, that CUDA and the driver load (TensorFlow logs why at start) and CUDA_VISIBLE_DEVICES, or set device.kind to auto or cpu", deviceNames(devices))
	case plan.Kind == DeviceCPU && len(gpus) > 0:
		return fmt.Errorf("device.kind is cpu but the session lists GPUs %v: GPU options are process-wide and an earlier session in this process enabled them", gpus)
	}
	m.TrainingDevice = "/device:CPU:0"
	if len(gpus) > 0 {
		m.TrainingDevice = gpus[0]
	} else if i := slices.IndexFunc(devices, func(d tf.Device) bool { return d.Type == "CPU" }); i >= 0 {
		m.TrainingDevice = devices[i].Name
	}
	m.log.Info().Str("device", m.TrainingDevice).Str("kind", plan.Kind).Msg("training device")

	// A signature that does not resolve is left out (a model may carry
	// signatures graftrain never calls); calling it, or needing it for
	// training, reports why.
	for _, spec := range m.Graph.UserSignatures() {
		s, err := m.resolveSignature(spec)
		if err != nil {
			m.unresolved[spec.Key] = err
			m.log.Warn().Err(err).Str("signature", spec.Key).Msg("signature does not resolve to the graph")
			continue
		}
		m.signatures[spec.Key] = s
	}
	if sv := m.Graph.Saver; sv != nil {
		p, err := m.resolveSaver(sv)
		if err != nil {
			return err
		}
		m.saver = p
	}
	return nil
}

func deviceNames(ds []tf.Device) []string {
	names := make([]string, len(ds))
	for i, d := range ds {
		names[i] = d.Name
	}
	return names
}

// output resolves "op:index" to a graph output and checks the index.
func (m *Model) output(ref TensorRef) (tf.Output, error) {
	op := m.saved.Graph.Operation(ref.Op)
	if op == nil {
		return tf.Output{}, fmt.Errorf("operation %q is not in the graph", ref.Op)
	}
	if n := op.NumOutputs(); ref.Index >= n {
		return tf.Output{}, fmt.Errorf("operation %q has %d outputs, no output %d", ref.Op, n, ref.Index)
	}
	return op.Output(ref.Index), nil
}

func (m *Model) resolveSignature(spec savedmodel.Signature) (*Signature, error) {
	s := &Signature{Name: spec.Key, Inputs: map[string]Port{}, Outputs: map[string]Port{}}
	var errs []error
	for _, side := range []struct {
		kind    string
		tensors []savedmodel.Tensor
		ports   map[string]Port
	}{{"input", spec.Inputs, s.Inputs}, {"output", spec.Outputs, s.Outputs}} {
		for _, t := range side.tensors {
			ref, err := ParseTensorName(t.Name)
			if err == nil {
				var out tf.Output
				if out, err = m.output(ref); err == nil {
					if want, known := graftDType(t.DType); known && out.DataType() != want {
						err = fmt.Errorf("the graph's tensor is not %s as the SignatureDef says", t.DType)
					}
					side.ports[t.Key] = Port{Spec: t, Output: out}
				}
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("signature %s %s %s (%s): %w", spec.Key, side.kind, t.Key, t.Name, err))
			}
		}
	}
	return s, errors.Join(errs...)
}

func (m *Model) resolveSaver(sv *savedmodel.Saver) (*saverPorts, error) {
	if sv.Version != "V2" {
		return nil, fmt.Errorf("saver_def version %s: graftrain saves and restores V2 checkpoints (TensorFlow 2 exports)", sv.Version)
	}
	fnRef, err := ParseTensorName(sv.FilenameTensor)
	if err != nil {
		return nil, fmt.Errorf("saver_def filename tensor: %w", err)
	}
	fn, err := m.output(fnRef)
	if err != nil {
		return nil, fmt.Errorf("saver_def filename tensor %s: %w", sv.FilenameTensor, err)
	}
	if fn.DataType() != tf.String {
		return nil, fmt.Errorf("saver_def filename tensor %s is not a string tensor", sv.FilenameTensor)
	}
	saveRef, err := ParseTensorName(sv.SaveTensor)
	if err != nil {
		return nil, fmt.Errorf("saver_def save tensor: %w", err)
	}
	save, err := m.output(saveRef)
	if err != nil {
		return nil, fmt.Errorf("saver_def save tensor %s: %w", sv.SaveTensor, err)
	}
	name := strings.TrimPrefix(sv.RestoreOp, "^")
	restore := m.saved.Graph.Operation(name)
	if restore == nil {
		return nil, fmt.Errorf("saver_def restore op %q is not in the graph", name)
	}
	return &saverPorts{filename: fn, save: save, restore: restore}, nil
}

// SignatureNames lists the user signatures, sorted.
func (m *Model) SignatureNames() []string {
	var names []string
	for _, s := range m.Graph.UserSignatures() {
		names = append(names, s.Key)
	}
	return names
}

// Signature returns the resolved signature name, or nil.
func (m *Model) Signature(name string) *Signature { return m.signatures[name] }

// SignatureErr says why signature name is not available: not in the
// model, or not resolvable to the graph. Nil when it is available.
func (m *Model) SignatureErr(name string) error {
	if _, ok := m.signatures[name]; ok {
		return nil
	}
	if err, ok := m.unresolved[name]; ok {
		return err
	}
	return fmt.Errorf("signature %q not in the model (it has %s)", name, strings.Join(m.SignatureNames(), ", "))
}

// Call runs signature sig with inputs (keyed by signature input name) and
// returns the named outputs in order. The session cannot be interrupted:
// ctx is checked before the run starts.
func (m *Model) Call(ctx context.Context, sig string, inputs map[string]*tf.Tensor, outputs ...string) ([]*tf.Tensor, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := m.signatures[sig]
	if s == nil {
		return nil, m.SignatureErr(sig)
	}
	feeds := make(map[tf.Output]*tf.Tensor, len(inputs))
	for k, t := range inputs {
		p, ok := s.Inputs[k]
		if !ok {
			return nil, fmt.Errorf("signature %s has no input %q", sig, k)
		}
		feeds[p.Output] = t
	}
	fetches := make([]tf.Output, len(outputs))
	for i, k := range outputs {
		p, ok := s.Outputs[k]
		if !ok {
			return nil, fmt.Errorf("signature %s has no output %q", sig, k)
		}
		fetches[i] = p.Output
	}
	out, err := m.saved.Session.Run(feeds, fetches, nil)
	if err != nil {
		return nil, fmt.Errorf("run signature %s: %w", sig, err)
	}
	return out, nil
}

// Save writes a checkpoint of every variable at prefix (prefix.index and
// prefix.data-*) through the MetaGraphDef's saver_def: the filename tensor
// is fed with prefix and the save tensor fetched.
func (m *Model) Save(ctx context.Context, prefix string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if m.saver == nil {
		return fmt.Errorf("save %s: the model has no saver_def", prefix)
	}
	if err := os.MkdirAll(filepath.Dir(prefix), 0o755); err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	name, err := tf.NewTensor(prefix)
	if err != nil {
		return fmt.Errorf("save %s: filename tensor: %w", prefix, err)
	}
	if _, err := m.saved.Session.Run(map[tf.Output]*tf.Tensor{m.saver.filename: name}, []tf.Output{m.saver.save}, nil); err != nil {
		return fmt.Errorf("save checkpoint %s: %w", prefix, err)
	}
	return nil
}

// Restore reads the checkpoint at prefix into the session's variables by
// running the saver_def's restore op with the filename tensor fed.
func (m *Model) Restore(ctx context.Context, prefix string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if m.saver == nil {
		return fmt.Errorf("restore %s: the model has no saver_def", prefix)
	}
	if _, err := os.Stat(prefix + ".index"); err != nil {
		return fmt.Errorf("restore checkpoint: %w", err)
	}
	name, err := tf.NewTensor(prefix)
	if err != nil {
		return fmt.Errorf("restore %s: filename tensor: %w", prefix, err)
	}
	if _, err := m.saved.Session.Run(map[tf.Output]*tf.Tensor{m.saver.filename: name}, nil, []*tf.Operation{m.saver.restore}); err != nil {
		return fmt.Errorf("restore checkpoint %s: %w", prefix, err)
	}
	return nil
}

// Close closes the session; it waits for runs in flight.
func (m *Model) Close() error {
	if err := m.saved.Session.Close(); err != nil {
		return fmt.Errorf("close session: %w", err)
	}
	return nil
}

// graftDType maps savedmodel's dtype names to graft's dtypes.
func graftDType(name string) (tf.DataType, bool) {
	switch name {
	case "float32":
		return tf.Float, true
	case "float64":
		return tf.Double, true
	case "int32":
		return tf.Int32, true
	case "int64":
		return tf.Int64, true
	case "bool":
		return tf.Bool, true
	case "string":
		return tf.String, true
	case "uint8":
		return tf.Uint8, true
	}
	return tf.Float, false
}

// RuntimeVersion is the version of the linked TensorFlow library.
func RuntimeVersion() string { return tf.Version() }
