package tensorboard

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadFile feeds arbitrary bytes to the event file reader: errors are
// fine, panics and unbounded allocations are not.
func FuzzReadFile(f *testing.F) {
	dir := f.TempDir()
	w, err := Create(dir, "seed")
	if err != nil {
		f.Fatal(err)
	}
	w.Scalars(1, []Scalar{{"loss/total", 1.5}, {"lr", 0.01}})
	w.Start(1)
	w.Close()
	seed, err := os.ReadFile(w.Path())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add(seed[:len(seed)/2])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "events.out.tfevents.fuzz")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		ReadFile(p)
	})
}
