package checkpoints

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/graftrain/graftrain/checkpoints/bundle"
)

// saver writes a two-tensor checkpoint whose values depend on step.
func saver(step int64) SaveFunc {
	return func(ctx context.Context, prefix string) error {
		w, err := bundle.NewWriter(prefix)
		if err != nil {
			return err
		}
		if err := w.AddFloat32("frozen/kernel", []int64{2, 2}, []float32{1, 2, 3, 4}); err != nil {
			return err
		}
		if err := w.AddFloat32("head/kernel", []int64{3}, []float32{float32(step), 0, -float32(step)}); err != nil {
			return err
		}
		if err := w.AddInt64("global_step", []int64{}, []int64{step}); err != nil {
			return err
		}
		return w.Finish()
	}
}

func save(t *testing.T, m *Manager, step int64, val float64) Meta {
	t.Helper()
	meta, err := m.Save(context.Background(), Meta{Step: step, Metrics: map[string]float64{"val_total_loss": val}}, saver(step))
	if err != nil {
		t.Fatal(err)
	}
	return meta
}

func names(ms []Meta) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Name)
	}
	return out
}

func TestSaveLayoutAndPointer(t *testing.T) {
	dir := t.TempDir()
	m, err := Open(dir, Options{KeepLast: 5})
	if err != nil {
		t.Fatal(err)
	}
	meta := save(t, m, 10, 1)
	want := []string{"checkpoint.json", "ckpt-10.data-00000-of-00001", "ckpt-10.index", "ckpt-10.json"}
	var got []string
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if !slices.Equal(got, want) {
		t.Fatalf("files %v, want %v (no temporary files left)", got, want)
	}
	if len(meta.Files) != 2 || meta.Files[0].Size == 0 {
		t.Errorf("recorded files %+v", meta.Files)
	}
	p, err := m.ReadPointer()
	if err != nil || p.Latest != "ckpt-10" || p.Step != 10 {
		t.Errorf("pointer %+v, %v", p, err)
	}
	if err := m.Verify(context.Background(), meta); err != nil {
		t.Error(err)
	}
}

func TestRetentionKeepsLastAndBest(t *testing.T) {
	m, err := Open(t.TempDir(), Options{KeepLast: 2, KeepBest: 1, BestMetric: "val_total_loss", BestMode: "min"})
	if err != nil {
		t.Fatal(err)
	}
	// Best (lowest) val loss at step 20.
	for i, v := range []float64{5, 1, 4, 3, 6} {
		save(t, m, int64(10*(i+1)), v)
	}
	all, _ := m.List()
	if got := names(all); !slices.Equal(got, []string{"ckpt-20", "ckpt-40", "ckpt-50"}) {
		t.Errorf("kept %v, want [ckpt-20 ckpt-40 ckpt-50]", got)
	}
	p, _ := m.ReadPointer()
	if p.Latest != "ckpt-50" || !slices.Equal(p.Best, []string{"ckpt-20"}) {
		t.Errorf("pointer %+v", p)
	}
	// max mode keeps the highest.
	m2, _ := Open(t.TempDir(), Options{KeepLast: 1, KeepBest: 1, BestMetric: "val_total_loss", BestMode: "max"})
	for i, v := range []float64{5, 9, 4} {
		save(t, m2, int64(i+1), v)
	}
	all, _ = m2.List()
	if got := names(all); !slices.Equal(got, []string{"ckpt-2", "ckpt-3"}) {
		t.Errorf("max mode kept %v", got)
	}
}

func TestLatestFallsBackFromDamage(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	m, _ := Open(dir, Options{KeepLast: 3})
	save(t, m, 1, 0)
	save(t, m, 2, 0)
	save(t, m, 3, 0)
	tests := []struct {
		name   string
		damage func()
		want   string
	}{
		{"intact", func() {}, "ckpt-3"},
		{"flipped data byte", func() {
			p := filepath.Join(dir, "ckpt-3.data-00000-of-00001")
			b, _ := os.ReadFile(p)
			b[5] ^= 1
			os.WriteFile(p, b, 0o644)
		}, "ckpt-2"},
		{"truncated index", func() {
			p := filepath.Join(dir, "ckpt-2.index")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)/2], 0o644)
		}, "ckpt-1"},
		{"missing data file", func() { os.Remove(filepath.Join(dir, "ckpt-1.data-00000-of-00001")) }, ""},
	}
	for _, tt := range tests {
		tt.damage()
		got, err := m.Latest(ctx)
		if tt.want == "" {
			if !errors.Is(err, ErrNone) {
				t.Errorf("%s: got %s, %v; want ErrNone", tt.name, got.Name, err)
			}
			continue
		}
		if err != nil || got.Name != tt.want {
			t.Errorf("%s: latest %s (%v), want %s", tt.name, got.Name, err, tt.want)
		}
	}
}

func TestIncompleteCheckpointIgnoredAndCleaned(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	m, _ := Open(dir, Options{})
	save(t, m, 5, 0)
	// A crash during the next save leaves temporary files and, after the
	// renames, data without metadata: neither counts.
	os.WriteFile(filepath.Join(dir, ".tmp-ckpt-10.index"), []byte("partial"), 0o644)
	os.WriteFile(filepath.Join(dir, "ckpt-10.index"), []byte("partial"), 0o644)
	got, err := m.Latest(ctx)
	if err != nil || got.Name != "ckpt-5" {
		t.Fatalf("latest %s, %v", got.Name, err)
	}
	m, _ = Open(dir, Options{})
	if _, err := os.Stat(filepath.Join(dir, "ckpt-10.index")); err != nil {
		t.Errorf("Open changed the directory: %v", err)
	}
	if err := m.Clean(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{".tmp-ckpt-10.index", "ckpt-10.index"} {
		if _, err := os.Stat(filepath.Join(dir, f)); !os.IsNotExist(err) {
			t.Errorf("%s not removed by Clean", f)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "ckpt-5.index")); err != nil {
		t.Errorf("complete checkpoint touched on open: %v", err)
	}
	// Writing step 10 for real replaces the partial files.
	save(t, m, 10, 0)
	got, err = m.Latest(ctx)
	if err != nil || got.Name != "ckpt-10" {
		t.Fatalf("latest %s, %v", got.Name, err)
	}
	// Saving the same step again keeps the complete checkpoint as it is.
	calls := 0
	_, err = m.Save(ctx, Meta{Step: 10}, func(ctx context.Context, prefix string) error { calls++; return nil })
	if err != nil || calls != 0 {
		t.Errorf("re-save of a complete step: %d saver calls, %v", calls, err)
	}
}

func TestDiff(t *testing.T) {
	dir := t.TempDir()
	m, _ := Open(dir, Options{})
	save(t, m, 1, 0)
	save(t, m, 3, 0)
	d, err := Diff(m.Prefix("ckpt-1"), m.Prefix("ckpt-3"))
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]VarDiff{}
	for _, v := range d {
		byKey[v.Key] = v
	}
	if byKey["frozen/kernel"].Change != Same {
		t.Errorf("frozen: %+v", byKey["frozen/kernel"])
	}
	// head goes from (1,0,-1) to (3,0,-3): difference (2,0,-2).
	h := byKey["head/kernel"]
	if h.Change != Changed || h.Elements != 2 || h.MaxAbs != 2 || abs(h.L2-2.8284271247461903) > 1e-12 || abs(h.Relative-2) > 1e-12 {
		t.Errorf("head: %+v", h)
	}
	if byKey["global_step"].Change != Changed {
		t.Errorf("step: %+v", byKey["global_step"])
	}
	if s := Summary(d); s[Same] != 1 || s[Changed] != 2 {
		t.Errorf("summary %v", s)
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
