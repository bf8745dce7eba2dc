package export

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/graftrain/graftrain/checkpoints/bundle"
	"github.com/graftrain/graftrain/internal/fixtures"
	"github.com/graftrain/graftrain/tf/savedmodel"
)

// trained writes a checkpoint with every entry of the model's variables,
// w and b replaced by 3 and 2 (what training on y = 3x + 2 reaches),
// except the keys in drop.
func trained(t *testing.T, model string, drop ...string) string {
	t.Helper()
	orig, err := bundle.Open(filepath.Join(model, "variables", "variables"))
	if err != nil {
		t.Fatal(err)
	}
	prefix := filepath.Join(t.TempDir(), "ckpt-300")
	w, err := bundle.NewWriter(prefix)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range orig.Index.Entries {
		if slices.Contains(drop, e.Key) {
			continue
		}
		switch e.Key {
		case "w/.ATTRIBUTES/VARIABLE_VALUE":
			err = w.AddFloat32(e.Key, e.Shape, []float32{3})
		case "b/.ATTRIBUTES/VARIABLE_VALUE":
			err = w.AddFloat32(e.Key, e.Shape, []float32{2})
		default:
			if e.DType == bundle.String {
				var s [][]byte
				if s, err = orig.Strings(e.Key); err == nil {
					err = w.AddStrings(e.Key, e.Shape, s)
				}
				break
			}
			var raw []byte
			if raw, _, err = orig.Raw(e.Key); err == nil {
				err = w.Add(e.Key, e.DType, e.Shape, raw)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	return prefix
}

func TestWrite(t *testing.T) {
	model := fixtures.Path(t, "tf2_regression_train")
	ckpt := trained(t, model)
	out := filepath.Join(t.TempDir(), "exported")
	res, err := Write(context.Background(), Options{Model: model, Checkpoint: ckpt, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"saved_model.pb", "variables/variables.data-00000-of-00001", "variables/variables.index"}
	if !slices.Equal(res.Files, want) {
		t.Errorf("files = %v, want %v", res.Files, want)
	}
	// The export is a SavedModel with the same graph and the trained values.
	sm, err := savedmodel.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if sm.CheckpointPrefix == "" {
		t.Fatal("exported model has no variables/variables")
	}
	if rep := savedmodel.Check(sm, nil); rep == nil {
		t.Fatal("no report")
	}
	ck, err := bundle.Open(sm.CheckpointPrefix)
	if err != nil {
		t.Fatal(err)
	}
	for key, v := range map[string]float32{"w/.ATTRIBUTES/VARIABLE_VALUE": 3, "b/.ATTRIBUTES/VARIABLE_VALUE": 2} {
		got, err := ck.Float32s(key)
		if err != nil || len(got) != 1 || got[0] != v {
			t.Errorf("%s = %v, %v; want %v", key, got, err, v)
		}
	}
	pb1, _ := os.ReadFile(filepath.Join(model, "saved_model.pb"))
	pb2, _ := os.ReadFile(filepath.Join(out, "saved_model.pb"))
	if !slices.Equal(pb1, pb2) {
		t.Error("saved_model.pb differs from the model's")
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".export-*")); len(left) > 0 {
		t.Errorf("temporary directories left: %v", left)
	}

	// A second export into the same directory is refused.
	if _, err := Write(context.Background(), Options{Model: model, Checkpoint: ckpt, Out: out}); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("export into a full directory: %v", err)
	}
}

func TestWriteRefusesForeignCheckpoint(t *testing.T) {
	model := fixtures.Path(t, "tf2_regression_train")
	ckpt := trained(t, model, "b/.ATTRIBUTES/VARIABLE_VALUE")
	out := filepath.Join(t.TempDir(), "exported")
	_, err := Write(context.Background(), Options{Model: model, Checkpoint: ckpt, Out: out})
	var me *MismatchError
	if !errors.As(err, &me) || !slices.Equal(me.Problems, []string{"missing b/.ATTRIBUTES/VARIABLE_VALUE"}) {
		t.Fatalf("error %v, want a mismatch naming b", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("out directory exists after a refused export: %v", err)
	}
}

func TestWriteRefusesDamagedCheckpoint(t *testing.T) {
	model := fixtures.Path(t, "tf2_regression_train")
	ckpt := trained(t, model)
	data := bundle.DataPath(ckpt, 0, 1)
	b, err := os.ReadFile(data)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] ^= 0xff
	if err := os.WriteFile(data, b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Write(context.Background(), Options{Model: model, Checkpoint: ckpt, Out: filepath.Join(t.TempDir(), "x")})
	if err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("damaged checkpoint: %v", err)
	}
}
