package session

import (
	"testing"

	"github.com/graftrain/graftrain/internal/fixtures"
	"github.com/graftrain/graftrain/tf/savedmodel"
)

func TestParseTensorName(t *testing.T) {
	tests := []struct {
		in      string
		want    TensorRef
		wantErr bool
	}{
		{"train_x:0", TensorRef{"train_x", 0}, false},
		{"StatefulPartitionedCall_3:2", TensorRef{"StatefulPartitionedCall_3", 2}, false},
		{"saver_filename", TensorRef{"saver_filename", 0}, false},
		{"a/b/c:10", TensorRef{"a/b/c", 10}, false},
		{"", TensorRef{}, true},
		{":0", TensorRef{}, true},
		{"x:-1", TensorRef{}, true},
		{"x:y", TensorRef{}, true},
		{"^ctrl", TensorRef{}, true},
		{"<sparse values:0>", TensorRef{}, true},
	}
	for _, tt := range tests {
		got, err := ParseTensorName(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseTensorName(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

// The names the runtime resolves in the regression fixture (its README
// lists them) parse to the ops and indexes the graph has.
func TestRegressionNames(t *testing.T) {
	sm, err := savedmodel.Load(fixtures.Path(t, "tf2_regression_train"))
	if err != nil {
		t.Fatal(err)
	}
	g, err := sm.MetaGraph("serve")
	if err != nil {
		t.Fatal(err)
	}
	s := g.Saver
	if s == nil {
		t.Fatal("no saver_def")
	}
	for name, want := range map[string]TensorRef{
		s.FilenameTensor: {"saver_filename", 0},
		s.SaveTensor:     {"StatefulPartitionedCall_3", 0},
		s.RestoreOp:      {"StatefulPartitionedCall_4", 0},
	} {
		if got, err := ParseTensorName(name); err != nil || got != want {
			t.Errorf("%q -> %v, %v; want %v", name, got, err, want)
		}
	}
	train, ok := g.Signature("train")
	if !ok {
		t.Fatal("no train signature")
	}
	loss, _ := train.Output("loss")
	if got, err := ParseTensorName(loss.Name); err != nil || got != (TensorRef{"StatefulPartitionedCall_1", 0}) {
		t.Errorf("loss %q -> %v, %v", loss.Name, got, err)
	}
}

// FuzzParseTensorName: names come from user SavedModels. A parsed name
// prints back to a form that parses to the same reference.
func FuzzParseTensorName(f *testing.F) {
	for _, s := range []string{"train_x:0", "StatefulPartitionedCall_3:0", "saver_filename", "a/b:12", ":", "x:", "^x", "x:1:2", "x:01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		ref, err := ParseTensorName(name)
		if err != nil {
			return
		}
		if ref.Op == "" || ref.Index < 0 {
			t.Fatalf("%q parsed to %+v", name, ref)
		}
		again, err := ParseTensorName(ref.String())
		if err != nil || again != ref {
			t.Fatalf("%q -> %v -> %q -> %v, %v", name, ref, ref.String(), again, err)
		}
	})
}
