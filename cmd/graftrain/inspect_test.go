package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/graftrain/graftrain/internal/fixtures"
)

// runInspect runs `graftrain inspect args...` and returns stdout, stderr
// text and the exit status main would use.
func runInspect(t *testing.T, args ...string) (string, int, error) {
	t.Helper()
	t.Setenv("GRAFTRAIN_MODEL_DIR", "")
	var out, errOut bytes.Buffer
	root := newRootCmd(newApp(&out, &errOut))
	root.SetArgs(append([]string{"inspect"}, args...))
	err := root.ExecuteContext(context.Background())
	code := 0
	if err != nil {
		code = exitCode(err)
	}
	return out.String(), code, err
}

func TestInspectHalfPlusTwo(t *testing.T) {
	dir := fixtures.HalfPlusTwo(t)
	out, code, err := runInspect(t, dir, "--verify")
	if code != 0 {
		t.Fatalf("exit %d: %v", code, err)
	}
	for _, want := range []string{
		`signature "serving_default"`, `signature "regress_x2_to_y3"`, "x2:0", "y3:0",
		"restore op save/restore_all", "version V2", "exported by TensorFlow 1.1.0-rc2",
		"Verify: 3 entries match their CRC32C, 0 bad",
		"Training contract v1, tags [serve]: NOT MET", "[MISSING]  signature train_step",
		"foo.txt",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	_, code, err = runInspect(t, dir, "--require-contract")
	if code != 2 || err == nil || !strings.Contains(err.Error(), "does not meet the graftrain training contract") {
		t.Errorf("--require-contract: exit %d, %v", code, err)
	}
}

func TestInspectJSON(t *testing.T) {
	dir := fixtures.Path(t, "tf2_regression_train")
	out, code, err := runInspect(t, dir, "--json", "--verify")
	if code != 0 {
		t.Fatalf("exit %d: %v", code, err)
	}
	var got struct {
		Kind       string
		SavedModel struct {
			MetaGraphs []struct {
				TensorFlowVersion string `json:"tensorflow_version"`
				Signatures        []struct {
					Key      string
					Internal bool
				}
			} `json:"meta_graphs"`
		} `json:"saved_model"`
		Checkpoint struct {
			Entries []struct {
				Key   string
				DType string
				Shape []int64
				Size  int64
			}
		}
		Verify struct {
			Checked int `json:"entries_checked"`
		}
		Contract struct {
			Requirements []struct {
				ID     string
				Status string
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got.Kind != "saved_model" || len(got.SavedModel.MetaGraphs) != 1 || got.SavedModel.MetaGraphs[0].TensorFlowVersion != "2.5.0" {
		t.Errorf("model = %+v", got.SavedModel)
	}
	var internal []string
	for _, s := range got.SavedModel.MetaGraphs[0].Signatures {
		if s.Internal {
			internal = append(internal, s.Key)
		}
	}
	if !slices.Equal(internal, []string{"__saved_model_init_op"}) {
		t.Errorf("internal signatures = %v", internal)
	}
	if len(got.Checkpoint.Entries) != 7 || got.Verify.Checked != 7 {
		t.Errorf("checkpoint %d entries, %d verified", len(got.Checkpoint.Entries), got.Verify.Checked)
	}
	for _, e := range got.Checkpoint.Entries {
		if e.Key == "optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE" && (e.DType != "int64" || e.Size != 8 || len(e.Shape) != 0) {
			t.Errorf("iter entry = %+v", e)
		}
	}
	var missing []string
	for _, q := range got.Contract.Requirements {
		if q.Status != "met" && q.Status != "absent" {
			missing = append(missing, q.ID)
		}
	}
	want := []string{"asset graftrain_contract.json", "asset graftrain_variables.json",
		"signature train_step", "signature eval_step", "signature predict", "signature serving_default"}
	if !slices.Equal(missing, want) {
		t.Errorf("unmet = %v, want %v", missing, want)
	}
}

func TestInspectCheckpointIndex(t *testing.T) {
	index := filepath.Join(fixtures.Path(t, "tf2_od_maskrcnn_ckpt_index"), "ckpt-0.index")
	out, code, err := runInspect(t, index)
	if code != 0 {
		t.Fatalf("exit %d: %v", code, err)
	}
	for _, want := range []string{"916 tensors", "Snappy-compressed", "float32: 65007685 values, 260030740 bytes"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out, "Training contract") {
		t.Error("a lone checkpoint got a contract check")
	}
	_, code, err = runInspect(t, strings.TrimSuffix(index, ".index"), "--verify")
	if code != 1 || err == nil || !strings.Contains(err.Error(), "data shard missing") {
		t.Errorf("--verify without data: exit %d, %v", code, err)
	}
	_, code, err = runInspect(t, index, "--require-contract")
	if code != 2 || !strings.Contains(err.Error(), "needs a SavedModel directory") {
		t.Errorf("--require-contract on a checkpoint: exit %d, %v", code, err)
	}
}

func TestInspectErrors(t *testing.T) {
	tmp := t.TempDir()
	garbage := filepath.Join(tmp, "garbage")
	os.MkdirAll(garbage, 0o755)
	os.WriteFile(filepath.Join(garbage, "saved_model.pb"), []byte("\x0a\xff\xff\xff\xffnot a protobuf"), 0o644)
	badIndex := filepath.Join(tmp, "ckpt-1.index")
	os.WriteFile(badIndex, bytes.Repeat([]byte{7}, 100), 0o644)
	nested := filepath.Join(tmp, "serving")
	os.MkdirAll(filepath.Join(nested, "1"), 0o755)
	os.WriteFile(filepath.Join(nested, "1", "saved_model.pb"), nil, 0o644)
	for _, tc := range []struct {
		name, path, want string
	}{
		{"not there", filepath.Join(tmp, "nope"), "no such file"},
		{"no saved_model.pb", t.TempDir(), "no saved_model.pb"},
		{"serving layout", nested, "one level down: " + filepath.Join(nested, "1")},
		{"corrupt proto", garbage, "not a SavedModel protobuf"},
		{"corrupt index", badIndex, "bad table magic"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, code, err := runInspect(t, tc.path)
			if code == 0 || err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("exit %d, error %v; want one containing %q", code, err, tc.want)
			}
		})
	}
	if _, code, err := runInspect(t); code != 2 || !strings.Contains(err.Error(), "MODEL_DIR") {
		t.Errorf("no argument: exit %d, %v", code, err)
	}
}

func TestInspectTags(t *testing.T) {
	dir := fixtures.HalfPlusTwo(t)
	out, code, err := runInspect(t, dir, "--tags", "serve,gpu", "--require-contract")
	if code != 2 || !strings.Contains(out, "[MISSING]  meta graph [serve,gpu]") || !strings.Contains(err.Error(), "the SavedModel has [serve]") {
		t.Errorf("exit %d, %v\n%s", code, err, out)
	}
}
