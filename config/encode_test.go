package config

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"go.yaml.in/yaml/v3"
)

var update = flag.Bool("update", false, "rewrite golden files")

// Loading what show prints gives the same config, for each layer mix.
func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		s    Sources
	}{
		{"defaults", Sources{}},
		{"good file", Sources{File: "testdata/good.yaml"}},
		{"toml with overrides", Sources{File: "testdata/good.toml",
			Environ: []string{"GRAFTRAIN_STAGES_1_LR_MULTIPLIERS_FPN=0.5", "GRAFTRAIN_DEVICE_GPUS=0,1"},
			Sets: []string{"model.rpn_anchor_scales=[16,32,64,128,256]", "stages.2.name=extra", "stages.2.layers=[fpn, rpn]",
				"stages.2.steps=3", "groups.odd=^a'b\"c: #d", "run.dir=yes", "model.tags=[\"true\", \"1\"]", "stages.0.learning_rate=1e-05"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c1 := mustLoad(t, tt.s)
			for _, sources := range []bool{false, true} {
				out, err := c1.YAML(sources)
				if err != nil {
					t.Fatal(err)
				}
				file := writeFile(t, "show.yaml", string(out))
				c2 := mustLoad(t, Sources{File: file})
				a, b := *c1, *c2
				a.sources, b.sources = nil, nil
				if !reflect.DeepEqual(a, b) {
					t.Errorf("sources=%v: reloaded config differs\n%s", sources, out)
				}
			}
			plain, _ := c1.YAML(false)
			marshalled, err := yaml.Marshal(*c1)
			if err != nil {
				t.Fatal(err)
			}
			var x, y any
			if yaml.Unmarshal(plain, &x) != nil || yaml.Unmarshal(marshalled, &y) != nil || !reflect.DeepEqual(x, y) {
				t.Errorf("yaml.Marshal differs from YAML:\n%s\n%s", marshalled, plain)
			}
		})
	}
}

func TestWriteFile(t *testing.T) {
	c := mustLoad(t, Sources{File: "testdata/good.yaml", Sets: []string{"train.seed=3"}})
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	back := mustLoad(t, Sources{File: path})
	if back.Train.Seed != 3 || back.Model.Variables != c.Model.Variables || len(back.Stages) != 2 {
		t.Errorf("config.yaml reloads as %+v", back)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
	if err := c.WriteFile(filepath.Join(dir, "missing", "config.yaml")); err == nil {
		t.Error("no error writing into a missing directory")
	}
}

// show --sources output, one value from each layer (golden; -update).
func TestShowSources(t *testing.T) {
	c := mustLoad(t, Sources{
		File:    "testdata/sources.yaml",
		Environ: []string{"GRAFTRAIN_TRAIN_MAX_STEPS=200", "GRAFTRAIN_LOG_LEVEL=debug"},
		Flags:   seedFlags(t, "--seed=7"),
		Sets:    []string{"stages.1.lr_multipliers.rpn=0.2", "log.level=warn"},
	})
	got, err := c.YAML(true)
	if err != nil {
		t.Fatal(err)
	}
	golden := "testdata/sources.golden"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("show --sources differs from %s (go test -update to accept):\n%s", golden, got)
	}
}
