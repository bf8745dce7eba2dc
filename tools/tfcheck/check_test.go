package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/graftrain/graftrain/internal/fixtures"
)

// probeModule writes a module in a temporary directory that requires graft
// (resolved offline from the module cache with the repository's go.sum) and
// holds files, name -> content.
func probeModule(t *testing.T, files map[string]string) (dir string, env []string) {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root, ok := fixtures.Root(wd)
	if !ok {
		t.Skip("repository root not found")
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	var protobuf string
	for _, line := range strings.Split(string(mod), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "google.golang.org/protobuf" {
			protobuf = f[1]
		}
	}
	if protobuf == "" {
		t.Fatal("go.mod does not require google.golang.org/protobuf")
	}
	dir = t.TempDir()
	gomod := "module example.com/probe\n\ngo 1.26.0\n\nrequire (\n\tgithub.com/wamuir/graft v0.10.0\n\tgoogle.golang.org/protobuf " + protobuf + "\n)\n"
	write(t, filepath.Join(dir, "go.mod"), gomod)
	write(t, filepath.Join(dir, "go.sum"), string(sum))
	for name, content := range files {
		write(t, filepath.Join(dir, name), content)
	}
	return dir, []string{"GOWORK=off", "GOFLAGS=-mod=mod", "GOPROXY=off"}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// cleanRuntime uses graft's cgo package the way tf/ does.
const cleanRuntime = `//go:build tensorflow

package probe

import (
	"fmt"

	tf "github.com/wamuir/graft/tensorflow"
)

func Run(dir string) ([]float32, error) {
	m, err := tf.LoadSavedModel(dir, []string{"serve"}, nil)
	if err != nil {
		return nil, err
	}
	defer m.Session.Close()
	x, err := tf.NewTensor([]float32{1, 2})
	if err != nil {
		return nil, err
	}
	op := m.Graph.Operation("train_x")
	if op == nil {
		return nil, fmt.Errorf("no op")
	}
	out, err := m.Session.Run(map[tf.Output]*tf.Tensor{op.Output(0): x}, []tf.Output{op.Output(0)}, nil)
	if err != nil {
		return nil, err
	}
	v, _ := out[0].Value().([]float32)
	return v, nil
}

// dtypes converts to and passes graft's DataType, whose underlying type
// is a C enum.
func dtypes(d int32) bool {
	return same(tf.DataType(d), tf.Float)
}

func same(a, b tf.DataType) bool { return a == b }
`

// untagged would not compile with the tag (Run is declared twice) if the
// tag were ignored; it proves the check selects files by build tag.
const untagged = `//go:build !tensorflow

package probe

func Run(dir string) ([]float32, error) { return nil, nil }
`

func TestCheck(t *testing.T) {
	c := NewChecker() // shared: the second module reads graft from the cache
	tests := []struct {
		name  string
		files map[string]string
		want  []string // substrings of the problems, in order; none: clean
	}{
		{
			name:  "clean",
			files: map[string]string{"probe.go": cleanRuntime, "stub.go": untagged},
		},
		{
			name: "wrong result type in a tagged file",
			files: map[string]string{
				"probe.go": cleanRuntime,
				"stub.go":  untagged,
				"bad.go": "//go:build tensorflow\n\npackage probe\n\nimport tf \"github.com/wamuir/graft/tensorflow\"\n\n" +
					"func Version() int { return tf.Version() }\n",
			},
			want: []string{"bad.go:7:29: cannot use tf.Version() (value of type string) as int value in return statement"},
		},
		{
			name: "unknown graft method in a tagged test file",
			files: map[string]string{
				"probe.go": cleanRuntime,
				"probe_test.go": "//go:build tensorflow\n\npackage probe\n\nimport (\n\t\"testing\"\n\n\ttf \"github.com/wamuir/graft/tensorflow\"\n)\n\n" +
					"func TestX(t *testing.T) {\n\tvar s *tf.Session\n\ts.RunOptions()\n}\n",
			},
			want: []string{"probe_test.go:13:4: s.RunOptions undefined"},
		},
		{
			name: "error in an external test package",
			files: map[string]string{
				"probe.go": cleanRuntime,
				"x_test.go": "//go:build tensorflow\n\npackage probe_test\n\nimport (\n\t\"testing\"\n\n\t\"example.com/probe\"\n)\n\n" +
					"func TestX(t *testing.T) { var _ int = probe.Run }\n",
			},
			want: []string{"x_test.go:11:40: cannot use probe.Run (value of type func(dir string) ([]float32, error)) as int value"},
		},
		{
			// helper imports probe, which has in-package test files: the
			// external test sees helper rebuilt against probe's test
			// variant, as the go command builds it, so the types agree.
			name: "external test through a helper that imports the package",
			files: map[string]string{
				"probe.go":       cleanRuntime,
				"box.go":         "package probe\n\ntype Box struct{ N int }\n",
				"in_test.go":     "package probe\n\nfunc helperForTests() {}\n",
				"helper/help.go": "package helper\n\nimport \"example.com/probe\"\n\ntype T struct{ F probe.Box }\n",
				"x_test.go": "//go:build tensorflow\n\npackage probe_test\n\nimport (\n\t\"testing\"\n\n\t\"example.com/probe\"\n\t\"example.com/probe/helper\"\n)\n\n" +
					"func TestX(t *testing.T) { var b probe.Box = helper.T{}.F; _ = b }\n",
			},
		},
		{
			name: "tests only, tagged",
			files: map[string]string{
				"probe.go": cleanRuntime,
				"only/only_test.go": "//go:build tensorflow\n\npackage only\n\nimport (\n\t\"testing\"\n\n\ttf \"github.com/wamuir/graft/tensorflow\"\n)\n\n" +
					"func TestV(t *testing.T) { var _ float32 = tf.Version() }\n",
			},
			want: []string{"only/only_test.go:11:44: cannot use tf.Version() (value of type string) as float32 value"},
		},
		{
			name: "parse error",
			files: map[string]string{
				"probe.go": cleanRuntime,
				"bad.go":   "//go:build tensorflow\n\npackage probe\n\nvar x = )\nvar y = 1\n",
			},
			want: []string{"bad.go:5:9: expected operand", "bad.go:6:1: expected ';'"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, env := probeModule(t, tt.files)
			res, err := c.Check(context.Background(), Options{Dir: dir, Patterns: []string{"./..."}, Tags: []string{"tensorflow"}, Tests: true, Env: env})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range res.Problems {
				got = append(got, p.Relative(dir))
			}
			if len(got) != len(tt.want) {
				t.Fatalf("problems:\n%s\nwant %d matching %q", strings.Join(got, "\n"), len(tt.want), tt.want)
			}
			for i := range got {
				if !strings.Contains(got[i], tt.want[i]) {
					t.Errorf("problem %d = %q, want it to contain %q", i, got[i], tt.want[i])
				}
			}
			if len(res.Packages) == 0 || res.Packages[0] != "example.com/probe" {
				t.Errorf("packages = %v, want example.com/probe", res.Packages)
			}
		})
	}
}

// TestRunExitStatus checks the command's exit status on a planted error
// and on clean code.
func TestRunExitStatus(t *testing.T) {
	for _, tt := range []struct {
		name string
		bad  bool
		want int
	}{{"clean", false, 0}, {"planted error", true, 1}} {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{"probe.go": cleanRuntime}
			if tt.bad {
				files["bad.go"] = "//go:build tensorflow\n\npackage probe\n\nvar _ string = Run\n"
			}
			dir, env := probeModule(t, files)
			t.Chdir(dir)
			for _, kv := range env {
				k, v, _ := strings.Cut(kv, "=")
				t.Setenv(k, v)
			}
			var out, errOut strings.Builder
			if got := run(context.Background(), []string{"./..."}, &out, &errOut); got != tt.want {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", got, tt.want, out.String(), errOut.String())
			}
			if tt.bad && !strings.Contains(out.String(), "bad.go:5:16") {
				t.Errorf("stdout %q does not name bad.go:5:16", out.String())
			}
		})
	}
}
