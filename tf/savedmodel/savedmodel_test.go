package savedmodel

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wamuir/graft/tensorflow/core/framework/tensor_shape_go_proto"
	"github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	pb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"

	"github.com/graftrain/graftrain/checkpoints/bundle"
	"github.com/graftrain/graftrain/graphs"
	"github.com/graftrain/graftrain/internal/fixtures"
)

func sigKeys(g *MetaGraph, user bool) []string {
	var k []string
	for _, s := range g.Signatures {
		if !user || !s.Internal {
			k = append(k, s.Key)
		}
	}
	return k
}

func TestHalfPlusTwo(t *testing.T) {
	m, err := Load(fixtures.HalfPlusTwo(t))
	if err != nil {
		t.Fatal(err)
	}
	g, err := m.MetaGraph("serve")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"classify_x2_to_y3", "classify_x_to_y", "regress_x2_to_y3", "regress_x_to_y", "regress_x_to_y2", "serving_default"}
	if got := sigKeys(g, false); !slices.Equal(got, want) {
		t.Errorf("signatures = %v, want %v", got, want)
	}
	s, _ := g.Signature("regress_x2_to_y3")
	in, _ := s.Input("inputs")
	out, _ := s.Output("outputs")
	if s.MethodName != "tensorflow/serving/regress" || in.Name != "x2:0" || out.Name != "y3:0" ||
		in.DType != "float32" || in.Shape.String() != "[?, 1]" {
		t.Errorf("regress_x2_to_y3 = %+v", s)
	}
	sd, _ := g.Signature("serving_default")
	if x, _ := sd.Input("x"); x.Name != "x:0" {
		t.Errorf("serving_default input x = %+v", x)
	}
	if g.Saver == nil || *g.Saver != (Saver{FilenameTensor: "save/Const:0", SaveTensor: "save/Identity:0", RestoreOp: "save/restore_all", Version: "V2", Sharded: true}) {
		t.Errorf("saver = %+v", g.Saver)
	}
	if g.TensorFlowVersion != "1.1.0-rc2" || g.ObjectGraph {
		t.Errorf("version %q, object graph %v", g.TensorFlowVersion, g.ObjectGraph)
	}
	var vars []string
	for _, v := range g.Variables {
		vars = append(vars, v.CheckpointKey)
		if v.DType != "float32" || len(v.Shape.Dims) != 0 || v.Shape.UnknownRank || !v.Trainable {
			t.Errorf("variable %+v, want a trainable float32 scalar", v)
		}
	}
	if !slices.Equal(vars, []string{"a", "b", "c"}) {
		t.Errorf("variables = %v", vars)
	}
	if !slices.Equal(m.AssetFiles, []string{"foo.txt"}) || len(g.Assets) != 1 || g.Assets[0].Filename != "foo.txt" {
		t.Errorf("assets: files %v, defs %+v", m.AssetFiles, g.Assets)
	}
	// The checkpoint's values are the model's a, b, c: y = a*x + b, y3 = a*x + c.
	c, err := bundle.Open(m.CheckpointPrefix)
	if err != nil {
		t.Fatal(err)
	}
	for key, w := range map[string]float32{"a": 0.5, "b": 2, "c": 3} {
		if v, err := c.Float32s(key); err != nil || len(v) != 1 || v[0] != w {
			t.Errorf("%s = %v, %v; want %v", key, v, err, w)
		}
	}
}

func TestRegressionFixture(t *testing.T) {
	m, err := Load(fixtures.Path(t, "tf2_regression_train"))
	if err != nil {
		t.Fatal(err)
	}
	g, err := m.MetaGraph("serve")
	if err != nil {
		t.Fatal(err)
	}
	if g.TensorFlowVersion != "2.5.0" || !g.ObjectGraph {
		t.Errorf("version %q object graph %v", g.TensorFlowVersion, g.ObjectGraph)
	}
	if got := sigKeys(g, false); !slices.Equal(got, []string{InitOpSignature, "b", "train", "w"}) {
		t.Errorf("signatures = %v", got)
	}
	if got := sigKeys(g, true); !slices.Equal(got, []string{"b", "train", "w"}) {
		t.Errorf("user signatures = %v", got)
	}
	tr, _ := g.Signature("train")
	x, _ := tr.Input("x")
	y, _ := tr.Input("y")
	loss, _ := tr.Output("loss")
	if x.Name != "train_x:0" || y.Name != "train_y:0" || loss.Name != "StatefulPartitionedCall_1:0" ||
		x.DType != "float32" || !slices.Equal(x.Shape.Dims, []int64{-1}) || !slices.Equal(y.Shape.Dims, []int64{-1}) {
		t.Errorf("train = %+v", tr)
	}
	for _, k := range []string{"w", "b"} {
		s, _ := g.Signature(k)
		if o, ok := s.Output("output"); !ok || o.DType != "float32" {
			t.Errorf("signature %s output = %+v", k, o)
		}
	}
	if g.Saver == nil || *g.Saver != (Saver{FilenameTensor: "saver_filename:0", SaveTensor: "StatefulPartitionedCall_3:0", RestoreOp: "StatefulPartitionedCall_4", Version: "V2"}) {
		t.Errorf("saver = %+v", g.Saver)
	}
	type v struct {
		name, dtype string
		dims        []int64
		trainable   bool
	}
	want := map[string]v{
		"w": {"w", "float32", []int64{1}, true}, "b": {"b", "float32", []int64{1}, true},
		"optimizer/iter": {"SGD/iter", "int64", []int64{}, false}, "optimizer/decay": {"SGD/decay", "float32", []int64{}, false},
		"optimizer/learning_rate": {"SGD/learning_rate", "float32", []int64{}, false}, "optimizer/momentum": {"SGD/momentum", "float32", []int64{}, false},
	}
	if len(g.Variables) != len(want) {
		t.Fatalf("variables = %+v", g.Variables)
	}
	c, err := bundle.Open(m.CheckpointPrefix)
	if err != nil {
		t.Fatal(err)
	}
	for _, got := range g.Variables {
		w, ok := want[got.Path]
		if !ok || got.Name != w.name || got.DType != w.dtype || !slices.Equal(got.Shape.Dims, w.dims) || got.Trainable != w.trainable {
			t.Errorf("variable %+v, want %+v", got, w)
		}
		// Every variable's checkpoint key exists, with its dtype and shape.
		e, ok := c.Index.Lookup(got.CheckpointKey)
		if !ok || e.DType.String() != got.DType || !slices.Equal(e.Shape, got.Shape.Dims) {
			t.Errorf("checkpoint entry for %s: %+v (found %v)", got.CheckpointKey, e, ok)
		}
	}
	if len(m.AssetFiles) != 0 {
		t.Errorf("asset files = %v", m.AssetFiles)
	}
}

// TestCheckRegression: the fixture is a TF2 model with a saver and a
// checkpoint, but none of the contract's signatures or assets.
func TestCheckRegression(t *testing.T) {
	m, err := Load(fixtures.Path(t, "tf2_regression_train"))
	if err != nil {
		t.Fatal(err)
	}
	r := Check(m, nil)
	if r.Met() {
		t.Fatal("contract met")
	}
	var unmet []string
	for _, q := range r.Unmet() {
		unmet = append(unmet, q.ID)
		if q.Fix == "" {
			t.Errorf("%s has no fix hint", q.ID)
		}
	}
	wantUnmet := []string{
		"asset graftrain_contract.json", "asset graftrain_variables.json",
		"signature train_step", "signature eval_step", "signature predict", "signature serving_default",
	}
	if !slices.Equal(unmet, wantUnmet) {
		t.Errorf("unmet = %v, want %v", unmet, wantUnmet)
	}
	status := map[string]Status{}
	for _, q := range r.Requirements {
		status[q.ID] = q.Status
	}
	for _, id := range []string{"meta graph [serve]", "tensorflow_version", "saver_def", "checkpoint variables/variables"} {
		if status[id] != Met {
			t.Errorf("%s: %s, want met", id, status[id])
		}
	}
	var ce *ContractError
	if err := r.Err(); !errors.As(err, &ce) || len(ce.Unmet) != 6 || !strings.Contains(err.Error(), "signature train_step") {
		t.Errorf("Err() = %v", err)
	}
	if r := Check(m, []string{"train"}); r.Met() || r.Requirements[0].Status != Missing || !strings.Contains(r.Requirements[0].Got, "[serve]") {
		t.Errorf("tags train: %+v", r.Requirements)
	}
}

// contractModel writes a SavedModel whose signatures, assets, saver and
// checkpoint follow the contract exactly (built from graphs' spec with
// the sizes of testdata's contract asset), after mutate edits it.
func contractModel(t *testing.T, mutate func(*pb.MetaGraphDef)) string {
	t.Helper()
	dir := t.TempDir()
	assets := filepath.Join(dir, AssetsDir)
	os.MkdirAll(assets, 0o755)
	os.MkdirAll(filepath.Join(dir, VariablesDir), 0o755)
	for _, name := range []string{graphs.AssetContract, graphs.AssetVariables} {
		b, err := os.ReadFile(filepath.Join("..", "..", "graphs", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(assets, name), b, 0o644)
	}
	a, err := graphs.ReadContractAssetFile(filepath.Join(assets, graphs.AssetContract))
	if err != nil {
		t.Fatal(err)
	}
	sizes := a.Model.Sizes()
	sizes[graphs.DimVariables] = 3
	dtypes := map[string]types_go_proto.DataType{"float32": types_go_proto.DataType_DT_FLOAT, "int32": types_go_proto.DataType_DT_INT32,
		"int64": types_go_proto.DataType_DT_INT64, "bool": types_go_proto.DataType_DT_BOOL}
	info := func(ts graphs.TensorSpec, i int) *pb.TensorInfo {
		sh := &tensor_shape_go_proto.TensorShapeProto{}
		for _, d := range ts.Resolve(sizes) {
			sh.Dim = append(sh.Dim, &tensor_shape_go_proto.TensorShapeProto_Dim{Size: d})
		}
		return &pb.TensorInfo{Encoding: &pb.TensorInfo_Name{Name: ts.Key + ":" + string(rune('0'+i%10))}, Dtype: dtypes[ts.DType], TensorShape: sh}
	}
	def := &pb.MetaGraphDef{
		MetaInfoDef:  &pb.MetaGraphDef_MetaInfoDef{Tags: []string{"serve"}, TensorflowVersion: "2.18.0"},
		SignatureDef: map[string]*pb.SignatureDef{InitOpSignature: {Outputs: map[string]*pb.TensorInfo{InitOpSignature: {Encoding: &pb.TensorInfo_Name{Name: "NoOp"}}}}},
		SaverDef:     &pb.SaverDef{FilenameTensorName: "saver_filename:0", SaveTensorName: "StatefulPartitionedCall_9:0", RestoreOpName: "StatefulPartitionedCall_10", Version: pb.SaverDef_V2},
	}
	for _, spec := range graphs.Signatures() {
		sd := &pb.SignatureDef{Inputs: map[string]*pb.TensorInfo{}, Outputs: map[string]*pb.TensorInfo{}}
		for i, ts := range spec.Inputs {
			if !ts.Optional || slices.Contains(a.OptionalInputs, ts.Key) {
				sd.Inputs[ts.Key] = info(ts, i)
			}
		}
		for i, ts := range spec.Outputs {
			if !ts.Optional || slices.Contains(a.OptionalOutputs, ts.Key) {
				sd.Outputs[ts.Key] = info(ts, i)
			}
		}
		for _, name := range append([]string{spec.Name}, spec.Aliases...) {
			def.SignatureDef[name] = sd
		}
	}
	if mutate != nil {
		mutate(def)
	}
	b, err := proto.Marshal(&pb.SavedModel{SavedModelSchemaVersion: 1, MetaGraphs: []*pb.MetaGraphDef{def}})
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, ProtoFile), b, 0o644)
	w, err := bundle.NewWriter(filepath.Join(dir, VariablesDir, VariablesBase))
	if err != nil {
		t.Fatal(err)
	}
	w.AddFloat32("conv1/kernel", []int64{2}, []float32{1, 2})
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestCheckContractModel(t *testing.T) {
	m, err := Load(contractModel(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	r := Check(m, []string{"serve"})
	if !r.Met() {
		t.Fatalf("contract model fails: %v", r.Err())
	}
	if r.Sizes[graphs.DimVariables] != 3 || r.Sizes[graphs.DimAnchors] != 261888 || r.Contract == nil || r.Manifest == nil {
		t.Errorf("sizes %v", r.Sizes)
	}
	status := map[string]Status{}
	for _, q := range r.Requirements {
		status[q.ID] = q.Status
	}
	for id, want := range map[string]Status{
		"train_step input weight_decay":          Met,
		"train_step input momentum":              Absent,
		"train_step output rpn_positive_anchors": Met,
		"train_step output update_skipped":       Absent,
		"serving_default output detections":      Met,
		"train_step input lr_multipliers":        Met,
		"eval_step output mrcnn_mask_loss":       Met,
		"predict input input_anchors":            Met,
	} {
		if status[id] != want {
			t.Errorf("%s = %q, want %s", id, status[id], want)
		}
	}
}

func TestCheckFindsEachFault(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*pb.MetaGraphDef)
		unmet  []string
	}{
		{"dtype", func(d *pb.MetaGraphDef) {
			d.SignatureDef[graphs.SignatureTrain].Inputs[graphs.InputGTMasks].Dtype = types_go_proto.DataType_DT_UINT8
		}, []string{"train_step input input_gt_masks"}},
		{"batch size", func(d *pb.MetaGraphDef) {
			d.SignatureDef[graphs.SignatureEval].Inputs[graphs.InputImage].TensorShape.Dim[0].Size = 4
		}, []string{"eval_step input input_image"}},
		{"V", func(d *pb.MetaGraphDef) {
			d.SignatureDef[graphs.SignatureTrain].Inputs[graphs.InputLRMultipliers].TensorShape.Dim[0].Size = 7
		}, []string{"train_step input lr_multipliers"}},
		{"declared optional missing", func(d *pb.MetaGraphDef) {
			delete(d.SignatureDef[graphs.SignatureTrain].Inputs, graphs.InputRPNMinProposalSize)
		}, []string{"train_step input rpn_min_proposal_size"}},
		{"step output", func(d *pb.MetaGraphDef) {
			delete(d.SignatureDef[graphs.SignatureTrain].Outputs, graphs.OutputStep)
		}, []string{"train_step output step"}},
		{"no serving_default", func(d *pb.MetaGraphDef) {
			delete(d.SignatureDef, graphs.SignatureServing)
		}, []string{"signature serving_default"}},
		{"V1 saver", func(d *pb.MetaGraphDef) { d.SaverDef.Version = pb.SaverDef_V1 }, []string{"saver_def"}},
		{"no saver", func(d *pb.MetaGraphDef) { d.SaverDef = nil }, []string{"saver_def"}},
		{"newer TF", func(d *pb.MetaGraphDef) { d.MetaInfoDef.TensorflowVersion = "2.19.1" }, []string{"tensorflow_version"}},
		{"unknown rank", func(d *pb.MetaGraphDef) {
			d.SignatureDef[graphs.SignaturePredict].Outputs[graphs.OutputDetections].TensorShape = &tensor_shape_go_proto.TensorShapeProto{UnknownRank: true}
		}, []string{"predict output detections", "serving_default output detections"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Load(contractModel(t, tc.mutate))
			if err != nil {
				t.Fatal(err)
			}
			var unmet []string
			for _, q := range Check(m, nil).Unmet() {
				unmet = append(unmet, q.ID)
			}
			if !slices.Equal(unmet, tc.unmet) {
				t.Errorf("unmet = %v, want %v", unmet, tc.unmet)
			}
		})
	}
}

func TestCheckAssetProblems(t *testing.T) {
	dir := contractModel(t, nil)
	p := filepath.Join(dir, AssetsDir, graphs.AssetContract)
	b, _ := os.ReadFile(p)
	os.WriteFile(p, []byte(strings.Replace(string(b), `"BATCH_SIZE": 2`, `"BATCH_SIZE": 0`, 1)), 0o644)
	os.Remove(filepath.Join(dir, VariablesDir, "variables.data-00000-of-00001"))
	m, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var unmet []string
	for _, q := range Check(m, nil).Unmet() {
		unmet = append(unmet, q.ID)
		if q.ID == "asset graftrain_contract.json" && !strings.Contains(q.Got, "model.BATCH_SIZE") {
			t.Errorf("asset problem %q does not name the field", q.Got)
		}
	}
	if !slices.Equal(unmet, []string{"asset graftrain_contract.json", "checkpoint variables/variables"}) {
		t.Errorf("unmet = %v", unmet)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(filepath.Join(dir, "nope")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing dir: %v", err)
	}
	if _, err := Load(dir); !errors.Is(err, ErrNoSavedModel) {
		t.Errorf("empty dir: %v", err)
	}
	os.WriteFile(filepath.Join(dir, ProtoFile), []byte("this is not a protobuf \xff\xff"), 0o644)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), ProtoFile) {
		t.Errorf("garbage: %v", err)
	}
	if _, err := Load(filepath.Join(dir, ProtoFile)); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("file as dir: %v", err)
	}
}

func TestParseTruncated(t *testing.T) {
	for _, b := range seedModels(t) {
		for n := 0; n < len(b); n += max(1, len(b)/500) {
			if m, err := Parse(b[:n]); err == nil {
				for i := range m.MetaGraphs {
					Check(&Model{MetaGraphs: m.MetaGraphs}, m.MetaGraphs[i].Tags)
				}
			}
		}
	}
}

func seedModels(t testing.TB) [][]byte {
	var out [][]byte
	if dir, err := fixtures.HalfPlusTwoDir(); err == nil {
		if b, err := os.ReadFile(filepath.Join(dir, ProtoFile)); err == nil {
			out = append(out, b)
		}
	}
	if p, ok := fixtures.Optional(filepath.Join("tf2_regression_train", ProtoFile)); ok {
		if b, err := os.ReadFile(p); err == nil {
			out = append(out, b)
		}
	}
	if len(out) == 0 {
		t.Skip("no seed saved_model.pb found")
	}
	return out
}

func FuzzParse(f *testing.F) {
	for _, b := range seedModels(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			return
		}
		for i := range m.MetaGraphs {
			g := &m.MetaGraphs[i]
			g.UserSignatures()
			Check(&Model{MetaGraphs: m.MetaGraphs}, g.Tags)
		}
	})
}

func TestInspectContractModelText(t *testing.T) {
	in, err := Inspect(context.Background(), contractModel(t, nil), InspectOptions{Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := in.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Training contract v1, tags [serve]: MET",
		"contract asset: BATCH_SIZE 2, IMAGE_SHAPE [1024 1024 3], NUM_CLASSES 81, 261888 anchors, optimizer sgd-momentum",
		"variables manifest: 3 variables (2 trainable), 9536 parameters",
		"[--]  train_step input momentum",
		"Verify: 1 entries match",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, b.String())
		}
	}
}
