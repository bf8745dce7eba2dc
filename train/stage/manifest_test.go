package stage

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/graftrain/graftrain/graphs"
)

func TestReadManifestExample(t *testing.T) {
	m := loadExample(t)
	if m.ContractVersion != graphs.ContractVersion || len(m.Variables) != 690 {
		t.Fatalf("contract %d, %d variables; want %d, 690", m.ContractVersion, len(m.Variables), graphs.ContractVersion)
	}
	if v := m.Variables[689]; v.Path != "mrcnn_mask/bias" || v.Shape[0] != 81 {
		t.Errorf("last variable %+v", v)
	}
}

func TestManifestPath(t *testing.T) {
	if got, want := ManifestPath("/m"), filepath.Join("/m", "assets", "graftrain_variables.json"); got != want {
		t.Errorf("ManifestPath = %s, want %s", got, want)
	}
}

func TestReadManifestMissing(t *testing.T) {
	_, err := ReadManifest(filepath.Join(t.TempDir(), "nope.json"))
	if err == nil || !strings.Contains(err.Error(), "file not found") {
		t.Errorf("err = %v", err)
	}
}

// The contract's reader does the checks (graphs owns them); these cases
// make sure its errors come through with the file's name.
func TestDecodeManifestErrors(t *testing.T) {
	v := `{"index":0,"path":"a/kernel","layer":"a","shape":[2],"dtype":"float32","trainable":true,"batch_norm":false}`
	for _, tc := range []struct {
		name, json, want string
	}{
		{"syntax", "{\n  \"contract_version\": 1,\n  \"variables\": [,]\n}", "line 3"},
		{"no version", `{"variables":[` + v + `]}`, "contract_version"},
		{"future version", `{"contract_version":7,"variables":[` + v + `]}`, "contract_version"},
		{"no variables", `{"contract_version":1,"variables":[]}`, "variables"},
		{"bad index", `{"contract_version":1,"variables":[` + strings.Replace(v, `"index":0`, `"index":3`, 1) + `]}`, "variables[0].index"},
		{"duplicate", `{"contract_version":1,"variables":[` + v + `,` + strings.Replace(v, `"index":0`, `"index":1`, 1) + `]}`, "variables[1].path"},
		{"negative dim", `{"contract_version":1,"variables":[` + strings.Replace(v, `[2]`, `[2,-1]`, 1) + `]}`, "variables[0].shape"},
		{"overflow", `{"contract_version":1,"variables":[` + strings.Replace(v, `[2]`, `[4294967296,4294967296]`, 1) + `]}`, "variables[0] (a/kernel): shape [4294967296 4294967296] has too many elements"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeManifest([]byte(tc.json), "x.json")
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "x.json") {
				t.Errorf("error %q, want it to name x.json and contain %q", err, tc.want)
			}
		})
	}
}

func TestReadManifestInvalid(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.json")
	if err := os.WriteFile(path, []byte(`{"contract_version":1,"variables":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadManifest(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("err = %v, want it to name %s", err, path)
	}
}

// FuzzDecodeManifest: any input gives a manifest that Build can use, or an
// error; never a panic.
func FuzzDecodeManifest(f *testing.F) {
	// Seeds come from the real example manifest, cut to its first
	// variables: the fuzzer minimises every new input, which on the whole
	// 100 kB file takes minutes per input (plain go test reads the whole
	// file in the other tests).
	m := loadExample(f)
	for _, n := range []int{1, 8, 40} {
		cut := *m
		cut.Variables = m.Variables[:n]
		data, err := json.Marshal(&cut)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		f.Add(data[:len(data)/2])
	}
	f.Add([]byte(`{"contract_version":1,"variables":[{"index":0,"path":"a/b","shape":[]}]}`))
	cfg := small(map[string]string{"a": "^a"}, "freeze", st("s", "all"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeManifest(b, "fuzz")
		if err != nil {
			return
		}
		p, err := Build(cfg, m)
		if err != nil {
			return
		}
		if len(p.Stages[0].Multipliers) != len(m.Variables) {
			t.Fatalf("%d multipliers for %d variables", len(p.Stages[0].Multipliers), len(m.Variables))
		}
	})
}
