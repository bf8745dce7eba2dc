package savedmodel

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	pb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"

	"github.com/graftrain/graftrain/internal/fixtures"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// TestSlotVariablePaths: slot variables hang off the optimizer, not off
// the root's children; their checkpoint key follows TensorFlow's
// VAR/.OPTIMIZER_SLOT/OPTIMIZER/SLOT naming.
func TestSlotVariablePaths(t *testing.T) {
	ref := func(id int32, name string) *pb.TrackableObjectGraph_TrackableObject_ObjectReference {
		return &pb.TrackableObjectGraph_TrackableObject_ObjectReference{NodeId: id, LocalName: name}
	}
	variable := func(name string, trainable bool) *pb.SavedObject {
		return &pb.SavedObject{Kind: &pb.SavedObject_Variable{Variable: &pb.SavedVariable{
			Name: name, Trainable: trainable, Dtype: types_go_proto.DataType_DT_FLOAT}}}
	}
	og := &pb.SavedObjectGraph{Nodes: []*pb.SavedObject{
		{Children: []*pb.TrackableObjectGraph_TrackableObject_ObjectReference{ref(1, "model"), ref(3, "optimizer")}}, // 0 root
		{Children: []*pb.TrackableObjectGraph_TrackableObject_ObjectReference{ref(2, "conv1"), ref(2, "alias")}},     // 1 model
		{Children: []*pb.TrackableObjectGraph_TrackableObject_ObjectReference{ref(4, "kernel")}},                     // 2 conv1
		{SlotVariables: []*pb.TrackableObjectGraph_TrackableObject_SlotVariableReference{ // 3 optimizer
			{OriginalVariableNodeId: 4, SlotName: "momentum", SlotVariableNodeId: 5},
			{OriginalVariableNodeId: 99, SlotName: "bad", SlotVariableNodeId: 5},
		}},
		variable("conv1/kernel:0", true),           // 4
		variable("conv1/kernel/Momentum:0", false), // 5
		variable("orphan", false),                  // 6, unreachable
	}}
	got := objectGraphVariables(og)
	want := []string{
		"model/conv1/kernel/.ATTRIBUTES/VARIABLE_VALUE",
		"model/conv1/kernel/.OPTIMIZER_SLOT/optimizer/momentum/.ATTRIBUTES/VARIABLE_VALUE",
		"<node 6>/.ATTRIBUTES/VARIABLE_VALUE",
	}
	if len(got) != len(want) {
		t.Fatalf("variables = %+v", got)
	}
	for i, v := range got {
		if v.CheckpointKey != want[i] {
			t.Errorf("variable %d key = %q, want %q", i, v.CheckpointKey, want[i])
		}
	}
	if got[1].Slot != "momentum" || got[0].Slot != "" || !got[0].Trainable || got[1].Trainable {
		t.Errorf("slots/trainable: %+v", got)
	}
}

// TestInspectGolden compares the text inspect prints for the regression
// fixture with testdata/regression.golden (go test -update rewrites it).
func TestInspectGolden(t *testing.T) {
	dir := fixtures.Path(t, "tf2_regression_train")
	in, err := Inspect(context.Background(), dir, InspectOptions{Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := in.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	got := strings.ReplaceAll(buf.String(), dir, "FIXTURE")
	golden := filepath.Join("testdata", "regression.golden")
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update once)", err)
	}
	if got != string(want) {
		t.Errorf("inspect text differs from %s:\n%s", golden, got)
	}
}
