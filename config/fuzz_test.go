package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadFile: any YAML config file gives a config or an error, never a
// panic; a config it accepts validates and survives a round trip.
func FuzzLoadFile(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.yaml")
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add(DefaultsYAML)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "fuzz.yaml")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := Load(Sources{File: path, Environ: noEnv})
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Load accepted a config Validate rejects: %v", err)
		}
		out, err := c.YAML(true)
		if err != nil {
			t.Fatal(err)
		}
		back := filepath.Join(dir, "back.yaml")
		if err := os.WriteFile(back, out, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(Sources{File: back, Environ: noEnv}); err != nil {
			t.Fatalf("show output does not load: %v\n%s", err, out)
		}
	})
}

// FuzzSet: any --set argument gives a config or an error, never a panic.
func FuzzSet(f *testing.F) {
	for _, s := range []string{
		"stages.1.lr_multipliers.backbone=0.1", "model.rpn_anchor_scales=[16,32,64,128,256]", "stages.0.layers=[rpn, fpn]",
		"stages.1.name=x", "train.seed=7", "groups.x=^a", "a.b.c=", "=", "stages.-1.name=x", "model.tags.3=x", "data={train: {}}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, set string) {
		_, _ = Load(Sources{Sets: []string{set}, Environ: noEnv})
	})
}
