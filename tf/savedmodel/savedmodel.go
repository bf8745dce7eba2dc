package savedmodel

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/wamuir/graft/tensorflow/core/framework/tensor_shape_go_proto"
	"github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	"github.com/wamuir/graft/tensorflow/core/framework/variable_go_proto"
	pb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"
)

// File names inside a SavedModel directory.
const (
	ProtoFile     = "saved_model.pb"
	AssetsDir     = "assets"
	VariablesDir  = "variables"
	VariablesBase = "variables" // checkpoint prefix variables/variables
)

// InitOpSignature is the signature key under which TF2 exports record their
// initializer; it is not a user signature (graft lists it among Signatures).
const InitOpSignature = "__saved_model_init_op"

// maxProtoBytes bounds saved_model.pb (protobuf's own 2 GiB limit).
const maxProtoBytes = 2 << 30

// ErrNoSavedModel is wrapped when a directory holds no saved_model.pb.
var ErrNoSavedModel = errors.New("no saved_model.pb")

// Model is a SavedModel directory as read from disk.
type Model struct {
	Dir           string      `json:"dir"`
	SchemaVersion int64       `json:"saved_model_schema_version"`
	MetaGraphs    []MetaGraph `json:"meta_graphs"`
	// AssetFiles are the files under assets/, relative to it, sorted.
	AssetFiles []string `json:"asset_files"`
	// CheckpointPrefix is variables/variables when its index exists.
	CheckpointPrefix string `json:"checkpoint_prefix,omitempty"`
}

// MetaGraph is one MetaGraphDef.
type MetaGraph struct {
	Tags                 []string    `json:"tags"`
	TensorFlowVersion    string      `json:"tensorflow_version,omitempty"`
	TensorFlowGitVersion string      `json:"tensorflow_git_version,omitempty"`
	Signatures           []Signature `json:"signatures"` // sorted by key
	// Variables come from the SavedObjectGraph (TF2) or, for TF1 exports,
	// from the "variables" collection and the graph's variable nodes.
	Variables   []Variable  `json:"variables"`
	Assets      []AssetFile `json:"assets,omitempty"`
	Saver       *Saver      `json:"saver,omitempty"`
	ObjectGraph bool        `json:"has_object_graph"`

	def *pb.MetaGraphDef
}

// Def returns the underlying MetaGraphDef (for callers that need more).
func (g *MetaGraph) Def() *pb.MetaGraphDef { return g.def }

// Signature is one SignatureDef.
type Signature struct {
	Key        string   `json:"key"`
	MethodName string   `json:"method_name,omitempty"`
	Inputs     []Tensor `json:"inputs"`  // sorted by key
	Outputs    []Tensor `json:"outputs"` // sorted by key
	// Internal marks __saved_model_init_op, which is not for users.
	Internal bool `json:"internal,omitempty"`
}

// Input returns the input with key.
func (s Signature) Input(key string) (Tensor, bool) { return findTensor(s.Inputs, key) }

// Output returns the output with key.
func (s Signature) Output(key string) (Tensor, bool) { return findTensor(s.Outputs, key) }

func findTensor(ts []Tensor, key string) (Tensor, bool) {
	for _, t := range ts {
		if t.Key == key {
			return t, true
		}
	}
	return Tensor{}, false
}

// Tensor is a signature input or output.
type Tensor struct {
	Key   string `json:"key"`
	Name  string `json:"name"`  // graph tensor, op:index
	DType string `json:"dtype"` // float32, int64, ...
	Shape Shape  `json:"shape"`
}

// Shape is a static shape; -1 marks an unknown dimension.
type Shape struct {
	Dims        []int64 `json:"dims"`
	UnknownRank bool    `json:"unknown_rank,omitempty"`
}

func (s Shape) String() string {
	if s.UnknownRank {
		return "<unknown rank>"
	}
	parts := make([]string, len(s.Dims))
	for i, d := range s.Dims {
		if d < 0 {
			parts[i] = "?"
		} else {
			parts[i] = fmt.Sprint(d)
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// NumElements is the product of the dims, or -1 when any is unknown.
func (s Shape) NumElements() int64 {
	if s.UnknownRank {
		return -1
	}
	n := int64(1)
	for _, d := range s.Dims {
		if d < 0 {
			return -1
		}
		n *= d
	}
	return n
}

// Variable is a model variable.
type Variable struct {
	// Path is the object-graph path ("optimizer/iter"); for TF1 exports the
	// variable's op name.
	Path      string `json:"path"`
	Name      string `json:"name,omitempty"` // the variable's own name, e.g. SGD/iter
	DType     string `json:"dtype"`
	Shape     Shape  `json:"shape"`
	Trainable bool   `json:"trainable"`
	// CheckpointKey is the key this variable has in the checkpoint.
	CheckpointKey string `json:"checkpoint_key"`
	// Slot names the optimizer slot ("momentum", "m") when the variable
	// is one.
	Slot string `json:"slot,omitempty"`
}

// AssetFile is one AssetFileDef: a file the graph reads through a tensor.
type AssetFile struct {
	Filename   string `json:"filename"`
	TensorName string `json:"tensor_name,omitempty"`
}

// Saver is the MetaGraphDef's saver_def: how to save and restore variables.
type Saver struct {
	FilenameTensor string `json:"filename_tensor"`
	SaveTensor     string `json:"save_tensor"`
	RestoreOp      string `json:"restore_op"`
	Version        string `json:"version"` // LEGACY (V1) | V1 | V2
	Sharded        bool   `json:"sharded"`
}

// Load reads the SavedModel in dir.
func Load(dir string) (*Model, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("open SavedModel: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("open SavedModel %s: not a directory (give the directory that holds %s)", dir, ProtoFile)
	}
	path := filepath.Join(dir, ProtoFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		// TensorFlow Serving layouts keep versions one level down.
		if sub, _ := filepath.Glob(filepath.Join(dir, "*", ProtoFile)); len(sub) > 0 {
			return nil, fmt.Errorf("open SavedModel %s: %w; a SavedModel lies one level down: %s", dir, ErrNoSavedModel, filepath.Dir(sub[0]))
		}
		return nil, fmt.Errorf("open SavedModel %s: %w (give the export directory, the one holding %s, assets/ and variables/)", dir, ErrNoSavedModel, ProtoFile)
	}
	if err != nil {
		return nil, fmt.Errorf("open SavedModel: %w", err)
	}
	m, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	m.Dir = dir
	m.AssetFiles, err = listAssets(filepath.Join(dir, AssetsDir))
	if err != nil {
		return nil, fmt.Errorf("list assets of %s: %w", dir, err)
	}
	prefix := filepath.Join(dir, VariablesDir, VariablesBase)
	if _, err := os.Stat(prefix + ".index"); err == nil {
		m.CheckpointPrefix = prefix
	}
	return m, nil
}

func listAssets(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == dir {
				return filepath.SkipAll
			}
			return err
		}
		if !d.IsDir() {
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}

// Parse decodes the bytes of a saved_model.pb.
func Parse(b []byte) (*Model, error) {
	if len(b) > maxProtoBytes {
		return nil, fmt.Errorf("%d bytes exceeds protobuf's 2 GiB limit", len(b))
	}
	var sm pb.SavedModel
	if err := proto.Unmarshal(b, &sm); err != nil {
		return nil, fmt.Errorf("not a SavedModel protobuf (corrupted or truncated?): %w", err)
	}
	if len(sm.GetMetaGraphs()) == 0 {
		return nil, errors.New("SavedModel has no meta graphs (corrupted, or not a saved_model.pb)")
	}
	m := &Model{SchemaVersion: sm.GetSavedModelSchemaVersion()}
	for _, def := range sm.GetMetaGraphs() {
		m.MetaGraphs = append(m.MetaGraphs, newMetaGraph(def))
	}
	return m, nil
}

func newMetaGraph(def *pb.MetaGraphDef) MetaGraph {
	info := def.GetMetaInfoDef()
	g := MetaGraph{
		Tags:                 slices.Clone(info.GetTags()),
		TensorFlowVersion:    info.GetTensorflowVersion(),
		TensorFlowGitVersion: info.GetTensorflowGitVersion(),
		ObjectGraph:          def.GetObjectGraphDef() != nil,
		def:                  def,
	}
	if g.Tags == nil {
		g.Tags = []string{}
	}
	for key, sig := range def.GetSignatureDef() {
		g.Signatures = append(g.Signatures, Signature{
			Key:        key,
			MethodName: sig.GetMethodName(),
			Inputs:     tensors(sig.GetInputs()),
			Outputs:    tensors(sig.GetOutputs()),
			Internal:   key == InitOpSignature,
		})
	}
	sort.Slice(g.Signatures, func(i, j int) bool { return g.Signatures[i].Key < g.Signatures[j].Key })
	for _, a := range def.GetAssetFileDef() {
		g.Assets = append(g.Assets, AssetFile{Filename: a.GetFilename(), TensorName: a.GetTensorInfo().GetName()})
	}
	// TF1 exports list assets in a collection of Any-wrapped AssetFileDefs.
	for _, v := range def.GetCollectionDef()["saved_model_assets"].GetAnyList().GetValue() {
		var a pb.AssetFileDef
		if v.UnmarshalTo(&a) == nil {
			g.Assets = append(g.Assets, AssetFile{Filename: a.GetFilename(), TensorName: a.GetTensorInfo().GetName()})
		}
	}
	if sd := def.GetSaverDef(); sd != nil {
		g.Saver = &Saver{
			FilenameTensor: sd.GetFilenameTensorName(),
			SaveTensor:     sd.GetSaveTensorName(),
			RestoreOp:      sd.GetRestoreOpName(),
			Version:        sd.GetVersion().String(),
			Sharded:        sd.GetSharded(),
		}
	}
	if og := def.GetObjectGraphDef(); og != nil {
		g.Variables = objectGraphVariables(og)
	} else {
		g.Variables = collectionVariables(def)
	}
	if g.Variables == nil {
		g.Variables = []Variable{}
	}
	return g
}

func tensors(m map[string]*pb.TensorInfo) []Tensor {
	out := make([]Tensor, 0, len(m))
	for key, ti := range m {
		t := Tensor{Key: key, Name: ti.GetName(), DType: DTypeName(ti.GetDtype()), Shape: shapeOf(ti.GetTensorShape())}
		if t.Name == "" {
			switch {
			case ti.GetCooSparse() != nil:
				t.Name = "<sparse " + ti.GetCooSparse().GetValuesTensorName() + ">"
			case ti.GetCompositeTensor() != nil:
				t.Name = "<composite>"
			}
		}
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func shapeOf(s *tensor_shape_go_proto.TensorShapeProto) Shape {
	if s == nil || s.GetUnknownRank() {
		return Shape{UnknownRank: true, Dims: []int64{}}
	}
	dims := make([]int64, 0, len(s.GetDim()))
	for _, d := range s.GetDim() {
		dims = append(dims, d.GetSize())
	}
	return Shape{Dims: dims}
}

// DTypeName returns the short name of a TensorFlow dtype: float32, int64...
func DTypeName(t types_go_proto.DataType) string {
	switch t {
	case types_go_proto.DataType_DT_FLOAT:
		return "float32"
	case types_go_proto.DataType_DT_DOUBLE:
		return "float64"
	case types_go_proto.DataType_DT_HALF:
		return "float16"
	case types_go_proto.DataType_DT_INVALID:
		return "invalid"
	}
	return strings.ToLower(strings.TrimPrefix(t.String(), "DT_"))
}

// objectGraphVariables names every variable node by its shortest path of
// children from the root; slot variables, which hang off the optimizer,
// get TensorFlow's checkpoint naming.
func objectGraphVariables(og *pb.SavedObjectGraph) []Variable {
	nodes := og.GetNodes()
	paths := make([]string, len(nodes))
	seen := make([]bool, len(nodes))
	if len(nodes) == 0 {
		return nil
	}
	seen[0] = true
	queue := []int{0}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, ch := range nodes[n].GetChildren() {
			id := int(ch.GetNodeId())
			if id < 0 || id >= len(nodes) || seen[id] {
				continue
			}
			seen[id] = true
			if paths[n] == "" {
				paths[id] = ch.GetLocalName()
			} else {
				paths[id] = paths[n] + "/" + ch.GetLocalName()
			}
			queue = append(queue, id)
		}
	}
	slot := make([]string, len(nodes))
	for n, node := range nodes {
		for _, sv := range node.GetSlotVariables() {
			orig, id := int(sv.GetOriginalVariableNodeId()), int(sv.GetSlotVariableNodeId())
			if orig < 0 || orig >= len(nodes) || id < 0 || id >= len(nodes) || !seen[orig] || !seen[n] {
				continue
			}
			slot[id] = sv.GetSlotName()
			if !seen[id] {
				seen[id] = true
				paths[id] = paths[orig] + "/.OPTIMIZER_SLOT/" + paths[n] + "/" + sv.GetSlotName()
			}
		}
	}
	var out []Variable
	for id, node := range nodes {
		v := node.GetVariable()
		if v == nil {
			continue
		}
		p := paths[id]
		if !seen[id] {
			p = fmt.Sprintf("<node %d>", id)
		}
		out = append(out, Variable{
			Path:          p,
			Name:          v.GetName(),
			DType:         DTypeName(v.GetDtype()),
			Shape:         shapeOf(v.GetShape()),
			Trainable:     v.GetTrainable(),
			CheckpointKey: p + "/.ATTRIBUTES/VARIABLE_VALUE",
			Slot:          slot[id],
		})
	}
	return out
}

// collectionVariables reads TF1 variables: VariableDefs in the "variables"
// collection, with dtype and shape from their graph nodes.
func collectionVariables(def *pb.MetaGraphDef) []Variable {
	col := def.GetCollectionDef()["variables"]
	if col == nil {
		return nil
	}
	nodes := map[string]map[string]*attrValue{}
	for _, n := range def.GetGraphDef().GetNode() {
		attrs := map[string]*attrValue{}
		for k, a := range n.GetAttr() {
			attrs[k] = &attrValue{dtype: a.GetType(), shape: a.GetShape()}
		}
		nodes[n.GetName()] = attrs
	}
	trainable := map[string]bool{}
	for _, b := range def.GetCollectionDef()["trainable_variables"].GetBytesList().GetValue() {
		var vd variable_go_proto.VariableDef
		if proto.Unmarshal(b, &vd) == nil {
			trainable[vd.GetVariableName()] = true
		}
	}
	var out []Variable
	for _, b := range col.GetBytesList().GetValue() {
		var vd variable_go_proto.VariableDef
		if proto.Unmarshal(b, &vd) != nil {
			continue
		}
		op, _, _ := strings.Cut(vd.GetVariableName(), ":")
		v := Variable{Path: op, Name: vd.GetVariableName(), Trainable: vd.GetTrainable() || trainable[vd.GetVariableName()], CheckpointKey: op,
			DType: "unknown", Shape: Shape{UnknownRank: true, Dims: []int64{}}}
		if attrs := nodes[op]; attrs != nil {
			if a := attrs["dtype"]; a != nil {
				v.DType = DTypeName(a.dtype)
			}
			if a := attrs["shape"]; a != nil && a.shape != nil {
				v.Shape = shapeOf(a.shape)
			}
		}
		out = append(out, v)
	}
	return out
}

type attrValue struct {
	dtype types_go_proto.DataType
	shape *tensor_shape_go_proto.TensorShapeProto
}

// MetaGraph returns the meta graph whose tag set equals tags (order does
// not matter).
func (m *Model) MetaGraph(tags ...string) (*MetaGraph, error) {
	want := slices.Clone(tags)
	slices.Sort(want)
	var have []string
	for i := range m.MetaGraphs {
		got := slices.Clone(m.MetaGraphs[i].Tags)
		slices.Sort(got)
		if slices.Equal(got, want) {
			return &m.MetaGraphs[i], nil
		}
		have = append(have, "["+strings.Join(m.MetaGraphs[i].Tags, ",")+"]")
	}
	return nil, fmt.Errorf("no meta graph with tags [%s]; the SavedModel has %s (set model.tags)", strings.Join(tags, ","), strings.Join(have, " "))
}

// Signature returns the signature with key.
func (g *MetaGraph) Signature(key string) (Signature, bool) {
	for _, s := range g.Signatures {
		if s.Key == key {
			return s, true
		}
	}
	return Signature{}, false
}

// UserSignatures returns the signatures without __saved_model_init_op.
func (g *MetaGraph) UserSignatures() []Signature {
	var out []Signature
	for _, s := range g.Signatures {
		if !s.Internal {
			out = append(out, s)
		}
	}
	return out
}
