package savedmodel

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/graftrain/graftrain/checkpoints/bundle"
	"github.com/graftrain/graftrain/graphs"
)

// RuntimeTensorFlowVersion is the TensorFlow release graftrain runs models
// with (graft v0.10.0); a model exported by a newer release may use ops the
// runtime lacks.
const RuntimeTensorFlowVersion = "2.18"

// Status is the verdict on one requirement.
type Status string

// Statuses of a requirement.
const (
	Met     Status = "met"
	Missing Status = "missing" // required and absent
	Wrong   Status = "wrong"   // present but with the wrong dtype, shape or content
	Absent  Status = "absent"  // optional and absent: fine
)

// Requirement is one line of the contract check.
type Requirement struct {
	// ID names the requirement: "signature train_step", "train_step input
	// learning_rate", "asset graftrain_contract.json", "saver_def", ...
	ID       string `json:"id"`
	Area     string `json:"area"` // meta_graph | signature | asset | saver | checkpoint | runtime
	Status   Status `json:"status"`
	Optional bool   `json:"optional,omitempty"`
	Want     string `json:"want"`          // what the contract asks for
	Got      string `json:"got,omitempty"` // what the model has
	Fix      string `json:"fix,omitempty"` // what to change in the export
}

// OK reports whether the requirement does not block training.
func (r Requirement) OK() bool { return r.Status == Met || r.Status == Absent }

// ContractReport is the result of Check: every requirement of the
// graftrain training contract, met or not.
type ContractReport struct {
	Dir             string                    `json:"dir"`
	Tags            []string                  `json:"tags"`
	ContractVersion int                       `json:"contract_version"`
	Requirements    []Requirement             `json:"requirements"`
	Sizes           graphs.Sizes              `json:"sizes,omitempty"` // bound dimensions
	Contract        *graphs.ContractAsset     `json:"-"`
	Manifest        *graphs.VariablesManifest `json:"-"`
}

// Met reports whether every requirement is met (optional ones may be absent).
func (r *ContractReport) Met() bool { return len(r.Unmet()) == 0 }

// Unmet returns the requirements that block training.
func (r *ContractReport) Unmet() []Requirement {
	var out []Requirement
	for _, q := range r.Requirements {
		if !q.OK() {
			out = append(out, q)
		}
	}
	return out
}

// Err returns a *ContractError when the contract is not met, else nil.
func (r *ContractReport) Err() error {
	if u := r.Unmet(); len(u) > 0 {
		return &ContractError{Dir: r.Dir, Unmet: u}
	}
	return nil
}

// ContractError lists the unmet requirements of a model.
type ContractError struct {
	Dir   string
	Unmet []Requirement
}

func (e *ContractError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s does not meet the graftrain training contract (version %d): %d requirement(s) unmet", e.Dir, graphs.ContractVersion, len(e.Unmet))
	for _, q := range e.Unmet {
		fmt.Fprintf(&b, "\n  - %s: %s", q.ID, q.Status)
		if q.Got != "" {
			fmt.Fprintf(&b, " (%s)", q.Got)
		}
		if q.Fix != "" {
			fmt.Fprintf(&b, "; fix: %s", q.Fix)
		}
	}
	return b.String()
}

// Fix hints, shared by several requirements.
const (
	fixExporter  = "export with graftrain_export (graphs/python), or see docs/contract.md"
	fixSignature = "add it to the signatures of tf.saved_model.save as a tf.function with explicit tf.TensorSpec inputs named like the contract keys; " + fixExporter
	fixInput     = "declare it in the signature function's input_signature as tf.TensorSpec(shape, dtype, name=KEY)"
	fixOutput    = "return it from the signature function in its output dict under KEY"
)

// Check checks m's meta graph with the given tags (["serve"] when empty)
// against the graftrain training contract. It never fails: every problem
// is a requirement in the report.
func Check(m *Model, tags []string) *ContractReport {
	if len(tags) == 0 {
		tags = []string{"serve"}
	}
	r := &ContractReport{Dir: m.Dir, Tags: tags, ContractVersion: graphs.ContractVersion, Sizes: graphs.Sizes{}}
	add := r.add

	g, err := m.MetaGraph(tags...)
	if err != nil {
		add(Requirement{ID: "meta graph [" + strings.Join(tags, ",") + "]", Area: "meta_graph", Status: Missing,
			Want: "a MetaGraphDef with this tag set", Got: err.Error(),
			Fix: "export with tf.saved_model.save (tag set serve), or set model.tags to one of the tag sets present"})
		return r
	}
	add(Requirement{ID: "meta graph [" + strings.Join(tags, ",") + "]", Area: "meta_graph", Status: Met,
		Want: "a MetaGraphDef with this tag set", Got: fmt.Sprintf("%d signatures, %d variables", len(g.UserSignatures()), len(g.Variables))})

	r.checkRuntime(g)
	r.checkAssets(m)
	for _, spec := range graphs.Signatures() {
		for _, name := range append([]string{spec.Name}, spec.Aliases...) {
			r.checkSignature(g, name, spec)
		}
	}
	r.checkSaver(g)
	r.checkCheckpoint(m)
	return r
}

func (r *ContractReport) add(q Requirement) { r.Requirements = append(r.Requirements, q) }

func (r *ContractReport) checkRuntime(g *MetaGraph) {
	q := Requirement{ID: "tensorflow_version", Area: "runtime", Want: "exported by TensorFlow " + RuntimeTensorFlowVersion + " or older", Got: g.TensorFlowVersion}
	switch {
	case g.TensorFlowVersion == "":
		q.Status, q.Got = Met, "not recorded"
	case versionAfter(g.TensorFlowVersion, RuntimeTensorFlowVersion):
		q.Status = Wrong
		q.Fix = "export with TensorFlow " + RuntimeTensorFlowVersion + " (the runtime must be at least as new as the exporting TensorFlow)"
	default:
		q.Status = Met
	}
	r.add(q)
}

// versionAfter reports whether major.minor of v is after that of ref.
func versionAfter(v, ref string) bool {
	parse := func(s string) (int, int) {
		parts := strings.SplitN(s, ".", 3)
		maj, _ := strconv.Atoi(parts[0])
		mnr := 0
		if len(parts) > 1 {
			mnr, _ = strconv.Atoi(strings.TrimFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' }))
		}
		return maj, mnr
	}
	a, b := parse(v)
	c, d := parse(ref)
	return a > c || (a == c && b > d)
}

func (r *ContractReport) checkAssets(m *Model) {
	readAsset := func(name string, read func(string) error) {
		q := Requirement{ID: "asset " + name, Area: "asset", Want: "assets/" + name + " (contract version " + strconv.Itoa(graphs.ContractVersion) + ")"}
		if !slices.Contains(m.AssetFiles, name) {
			q.Status = Missing
			q.Fix = "write it (schema in docs/contract.md) and track it with tf.saved_model.Asset so that tf.saved_model.save copies it into assets/; " + fixExporter
			r.add(q)
			return
		}
		if err := read(filepath.Join(m.Dir, AssetsDir, name)); err != nil {
			q.Status = Wrong
			q.Got = err.Error()
			q.Fix = "correct the fields named above in the exporter's output"
		} else {
			q.Status = Met
		}
		r.add(q)
	}
	readAsset(graphs.AssetContract, func(p string) error {
		a, err := graphs.ReadContractAssetFile(p)
		if err == nil {
			r.Contract = a
			for k, v := range a.Model.Sizes() {
				r.Sizes[k] = v
			}
		}
		return err
	})
	readAsset(graphs.AssetVariables, func(p string) error {
		v, err := graphs.ReadVariablesManifestFile(p)
		if err == nil {
			r.Manifest = v
			r.Sizes[graphs.DimVariables] = int64(len(v.Variables))
		}
		return err
	})
}

func (r *ContractReport) checkSignature(g *MetaGraph, name string, spec graphs.SignatureSpec) {
	sig, ok := g.Signature(name)
	id := "signature " + name
	if !ok {
		q := Requirement{ID: id, Area: "signature", Status: Missing, Want: spec.Doc, Fix: fixSignature}
		var have []string
		for _, s := range g.UserSignatures() {
			have = append(have, s.Key)
		}
		q.Got = "signatures present: " + strings.Join(have, ", ")
		if len(have) == 0 {
			q.Got = "no user signatures"
		}
		r.add(q)
		return
	}
	r.add(Requirement{ID: id, Area: "signature", Status: Met, Want: spec.Doc,
		Got: fmt.Sprintf("%d inputs, %d outputs", len(sig.Inputs), len(sig.Outputs))})
	declared := func(key string, outputs bool) bool {
		if r.Contract == nil {
			return false
		}
		if outputs {
			return slices.Contains(r.Contract.OptionalOutputs, key)
		}
		return slices.Contains(r.Contract.OptionalInputs, key)
	}
	for _, dir := range []struct {
		kind  string
		specs []graphs.TensorSpec
		find  func(string) (Tensor, bool)
		out   bool
		fix   string
	}{
		{"input", spec.Inputs, sig.Input, false, fixInput},
		{"output", spec.Outputs, sig.Output, true, fixOutput},
	} {
		for _, ts := range dir.specs {
			q := Requirement{ID: fmt.Sprintf("%s %s %s", name, dir.kind, ts.Key), Area: "signature", Optional: ts.Optional,
				Want: ts.DType + " " + ts.ShapeString()}
			t, ok := dir.find(ts.Key)
			switch {
			case !ok && ts.Optional && declared(ts.Key, dir.out):
				q.Status = Missing
				q.Got = "listed in the contract asset but not in the signature"
				q.Fix = strings.ReplaceAll(dir.fix, "KEY", ts.Key) + ", or drop it from " + graphs.AssetContract
			case !ok && ts.Optional:
				q.Status = Absent
			case !ok:
				q.Status = Missing
				q.Fix = strings.ReplaceAll(dir.fix, "KEY", ts.Key)
			default:
				q.Got = t.DType + " " + t.Shape.String() + " (" + t.Name + ")"
				var problems []string
				if t.DType != ts.DType {
					problems = append(problems, "dtype "+t.DType+", want "+ts.DType)
				}
				if err := ts.CheckShape(t.Shape.Dims, t.Shape.UnknownRank, r.Sizes); err != nil {
					problems = append(problems, err.Error())
				}
				if len(problems) > 0 {
					q.Status = Wrong
					q.Got += ": " + strings.Join(problems, "; ")
					q.Fix = "give it " + ts.DType + " " + ts.ShapeString() + " in the tf.TensorSpec (B, H, W fixed to the exported BATCH_SIZE and IMAGE_SHAPE)"
				} else {
					q.Status = Met
				}
			}
			r.add(q)
		}
	}
}

func (r *ContractReport) checkSaver(g *MetaGraph) {
	q := Requirement{ID: "saver_def", Area: "saver", Want: "filename tensor, save tensor and restore op of a V2 saver"}
	s := g.Saver
	switch {
	case s == nil:
		q.Status = Missing
		q.Fix = "save with tf.saved_model.save, which records a saver_def that checkpoints every tracked variable (optimizer slots and step included)"
	case s.FilenameTensor == "" || s.SaveTensor == "" || s.RestoreOp == "":
		q.Status = Wrong
		q.Got = fmt.Sprintf("filename %q, save %q, restore %q", s.FilenameTensor, s.SaveTensor, s.RestoreOp)
		q.Fix = "export again with tf.saved_model.save"
	case s.Version != "V2":
		q.Status = Wrong
		q.Got = "version " + s.Version
		q.Fix = "use TensorFlow 2 (tf.saved_model.save writes V2 checkpoints)"
	default:
		q.Status = Met
		q.Got = fmt.Sprintf("filename %s, save %s, restore %s, %s", s.FilenameTensor, s.SaveTensor, s.RestoreOp, s.Version)
	}
	r.add(q)
}

func (r *ContractReport) checkCheckpoint(m *Model) {
	q := Requirement{ID: "checkpoint variables/variables", Area: "checkpoint", Want: "a readable TensorBundle index (and its data) under variables/"}
	if m.CheckpointPrefix == "" {
		q.Status = Missing
		q.Fix = "export with tf.saved_model.save, which writes variables/variables.index and .data-*"
		r.add(q)
		return
	}
	ix, err := bundle.ReadIndexFile(bundle.IndexPath(m.CheckpointPrefix))
	if err != nil {
		q.Status = Wrong
		q.Got = err.Error()
		q.Fix = "export again; the index is damaged"
		r.add(q)
		return
	}
	var missing []string
	shards := len(ix.ShardSizes())
	for i := range shards {
		p := bundle.DataPath(m.CheckpointPrefix, i, shards)
		if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
			missing = append(missing, filepath.Base(p))
		}
	}
	if len(missing) > 0 {
		q.Status = Missing
		q.Got = "data shard(s) missing: " + strings.Join(missing, ", ")
		q.Fix = "copy the whole variables/ directory of the export"
	} else {
		q.Status = Met
		q.Got = fmt.Sprintf("%d tensors in %d shard(s)", len(ix.Entries), shards)
	}
	r.add(q)
}
