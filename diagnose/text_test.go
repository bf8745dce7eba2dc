package diagnose

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// The terminal output for hand-made runs, as golden files (go test
// -update rewrites them after a deliberate change).
func TestWriteTextGolden(t *testing.T) {
	for _, name := range []string{"rpn_starved", "frozen_group_moved", "healthy"} {
		t.Run(name, func(t *testing.T) {
			r := loadTestdata(t, name)
			var b bytes.Buffer
			if err := WriteText(&b, r, Diagnose(r, DefaultThresholds(0))); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(b.Bytes(), want) {
				t.Errorf("output differs from %s:\n%s", golden, b.String())
			}
		})
	}
}
