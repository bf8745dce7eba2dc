package docs_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// commandTimeout bounds each command a console block runs.
const commandTimeout = 30 * time.Second

// binary is the graftrain built once for all tests (no tensorflow tag, as
// users without libtensorflow build it); buildErr says why there is none.
var (
	binary   string
	buildErr error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "graftrain-docs-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := trackSources(".."); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "graftrain")
	cmd := exec.Command("go", "build", "-o", binary, "./cmd/graftrain")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		buildErr = fmt.Errorf("go build ./cmd/graftrain: %w\n%s", err, out)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// trackSources opens the files the graftrain binary may be built from: Go
// sources, embedded files, go.mod and go.sum. The go command caches a
// test's result keyed by the files the test opened; the sources are read
// by a go build child process it does not see, so without this a changed
// command would not rerun the docs tests. Files that vanish while the tree
// is walked are skipped.
func trackSources(root string) error {
	const maxSize = 4 << 20 // built binaries and data dumps, not sources
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || name == "runs" || name == "node_modules" || name == "__pycache__") {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil || !info.Mode().IsRegular() || info.Size() > maxSize {
			return nil
		}
		f, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		return f.Close()
	})
}

func needBinary(t *testing.T) {
	t.Helper()
	if buildErr != nil {
		t.Fatal(buildErr)
	}
}

// pages reads docs/*.md and the repository's README.md.
func pages(t *testing.T) []*page {
	t.Helper()
	files, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("../README.md"); err == nil {
		files = append(files, "../README.md")
	}
	var out []*page
	for _, f := range files {
		text, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		p, err := parsePage(f, string(text))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	if len(out) < 5 {
		t.Fatalf("found only %d Markdown pages; is the test running in docs/?", len(out))
	}
	return out
}

// workspace returns a temporary directory holding a copy of the
// repository's examples/, where console commands run: paths in the docs
// are written relative to the repository root.
func workspace(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join("..", "examples")
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel("..", path)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// step is one `$ graftrain ...` line of a console block and the output
// lines expected from it.
type step struct {
	line     int
	env      []string // NAME=value assignments before the command
	args     []string // after "graftrain"
	wantExit int
	expect   []codeLine
}

var (
	envAssign = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)
	exitNote  = regexp.MustCompile(`^exit\s+([0-9]+)$`)
)

// parseConsole reads a console block: commands start with "$ ", other
// non-empty lines are output the preceding command must print ("..." on a
// line of its own skips output; "..." inside a line matches anything). A
// trailing "# exit N" gives the expected exit status.
func parseConsole(b block) ([]step, error) {
	var steps []step
	for i := 0; i < len(b.lines); i++ {
		l, n := b.lines[i], b.line+1+i
		if !strings.HasPrefix(l, "$ ") {
			if strings.TrimSpace(l) == "" {
				continue
			}
			if len(steps) == 0 {
				return nil, fmt.Errorf("%s:%d: console block must start with a \"$ graftrain\" command", b.file, n)
			}
			last := &steps[len(steps)-1]
			last.expect = append(last.expect, codeLine{b.file, n, l})
			continue
		}
		cmdline := strings.TrimPrefix(l, "$ ")
		for strings.HasSuffix(cmdline, `\`) && i+1 < len(b.lines) {
			i++
			cmdline = strings.TrimSuffix(cmdline, `\`) + " " + strings.TrimSpace(b.lines[i])
		}
		words, comment, err := shellWords(cmdline)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", b.file, n, err)
		}
		s := step{line: n}
		for len(words) > 0 && envAssign.MatchString(words[0]) {
			s.env = append(s.env, words[0])
			words = words[1:]
		}
		if len(words) == 0 || words[0] != "graftrain" {
			return nil, fmt.Errorf("%s:%d: console commands must run graftrain (mark other commands ```sh): %s", b.file, n, l)
		}
		s.args = words[1:]
		if m := exitNote.FindStringSubmatch(strings.TrimSpace(comment)); m != nil {
			s.wantExit, _ = strconv.Atoi(m[1])
		}
		steps = append(steps, s)
	}
	if len(steps) == 0 {
		return nil, fmt.Errorf("%s:%d: console block without a command", b.file, b.line)
	}
	return steps, nil
}

// shellWords splits a command line as a POSIX shell splits words, with
// quotes and backslashes, and returns the text of a trailing # comment.
// Anything a shell would interpret beyond that (pipes, redirections,
// substitutions) is refused: console commands run without a shell.
func shellWords(s string) (words []string, comment string, err error) {
	var cur strings.Builder
	inWord := false
	flush := func() {
		if inWord {
			words = append(words, cur.String())
			cur.Reset()
			inWord = false
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			flush()
		case c == '#' && !inWord:
			return words, s[i+1:], nil
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, "", errors.New("unterminated ' quote")
			}
			cur.WriteString(s[i+1 : i+1+j])
			inWord = true
			i += j + 1
		case c == '"':
			inWord = true
			for i++; ; i++ {
				if i >= len(s) {
					return nil, "", errors.New("unterminated \" quote")
				}
				if s[i] == '"' {
					break
				}
				if s[i] == '$' || s[i] == '`' {
					return nil, "", fmt.Errorf("%q: console commands run without a shell; no substitutions", s)
				}
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(s[i])
			}
		case c == '\\':
			if i+1 < len(s) {
				i++
				cur.WriteByte(s[i])
				inWord = true
			}
		case strings.IndexByte("|&;<>()$`", c) >= 0:
			return nil, "", fmt.Errorf("%q: console commands run without a shell; %q is not allowed (mark the block ```sh)", s, c)
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	flush()
	return words, "", nil
}

var spaces = regexp.MustCompile(`[ \t]+`)

func normalize(s string) string { return strings.TrimSpace(spaces.ReplaceAllString(s, " ")) }

// matches reports whether an expected line occurs in one line of output,
// with whitespace runs compared as one space and "..." matching anything.
func matches(output []string, want string) bool {
	parts := strings.Split(normalize(want), "...")
	for _, l := range output {
		rest, ok := normalize(l), true
		for _, p := range parts {
			p = strings.TrimSpace(p)
			j := strings.Index(rest, p)
			if j < 0 {
				ok = false
				break
			}
			rest = rest[j+len(p):]
		}
		if ok {
			return true
		}
	}
	return false
}

// tail keeps the end of a long output for a failure message.
func tail(out string) string {
	const max = 4000
	if len(out) <= max {
		return out
	}
	return "[...]" + out[len(out)-max:]
}

// cleanEnv is the environment without GRAFTRAIN_* variables, so that the
// docs run as a user's shell would run them.
func cleanEnv(extra []string) []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "GRAFTRAIN_") {
			env = append(env, e)
		}
	}
	return append(env, extra...)
}

func run(dir string, env, args []string) (string, int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = dir
	cmd.Env = cleanEnv(env)
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		return out.String(), -1, fmt.Errorf("timed out after %v", commandTimeout)
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return out.String(), exit.ExitCode(), nil
	}
	return out.String(), 0, err
}

// Every console block runs: its commands in order, in one workspace per
// page (a page is a walk-through: later blocks use what earlier ones made).
func TestConsoleBlocks(t *testing.T) {
	needBinary(t)
	total := 0
	for _, p := range pages(t) {
		var blocks []block
		for _, b := range p.blocks {
			if b.kind() == "console" {
				blocks = append(blocks, b)
			}
		}
		if len(blocks) == 0 {
			continue
		}
		t.Run(filepath.Base(p.file), func(t *testing.T) {
			dir := workspace(t)
			for _, b := range blocks {
				steps, err := parseConsole(b)
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range steps {
					total++
					out, code, err := run(dir, s.env, s.args)
					where := fmt.Sprintf("%s:%d: graftrain %s", p.file, s.line, strings.Join(s.args, " "))
					if err != nil {
						t.Fatalf("%s: %v\n%s", where, err, tail(out))
					}
					if code != s.wantExit {
						t.Fatalf("%s: exit status %d, want %d (write \"# exit %d\" after the command if that is intended)\n%s",
							where, code, s.wantExit, code, tail(out))
					}
					outLines := strings.Split(out, "\n")
					for _, e := range s.expect {
						if w := strings.TrimSpace(e.text); w == "..." || w == "…" {
							continue
						}
						if !matches(outLines, e.text) {
							t.Errorf("%s:%d: expected output line not printed by graftrain %s:\n  %s\noutput:\n%s",
								e.file, e.line, strings.Join(s.args, " "), e.text, tail(out))
						}
					}
				}
			}
		})
	}
	if total == 0 {
		t.Error("no console command found in the docs")
	}
}

// cmdNode is a command of graftrain's command tree.
type cmdNode struct {
	children map[string]*cmdNode
	flags    map[string]bool // local and global flags --help lists, without "--"
}

// commandTree reads graftrain's commands and flags from --help, recursively.
func commandTree(t *testing.T, path []string) *cmdNode {
	t.Helper()
	out, code, err := run(t.TempDir(), nil, append(slices.Clone(path), "--help"))
	if err != nil || code != 0 {
		t.Fatalf("graftrain %s --help: exit %d, %v\n%s", strings.Join(path, " "), code, err, out)
	}
	n := &cmdNode{children: map[string]*cmdNode{}, flags: map[string]bool{}}
	section := ""
	for _, l := range strings.Split(out, "\n") {
		if !strings.HasPrefix(l, " ") {
			section = strings.TrimSpace(l)
			continue
		}
		switch section {
		case "Available Commands:":
			name := strings.Fields(l)[0]
			if name == "help" || name == "completion" {
				n.children[name] = &cmdNode{flags: map[string]bool{}}
			} else {
				n.children[name] = commandTree(t, append(slices.Clone(path), name))
			}
		case "Flags:", "Global Flags:":
			for _, f := range strings.Fields(l) {
				if name, ok := strings.CutPrefix(f, "--"); ok {
					n.flags[name] = true
					break
				}
			}
		}
	}
	return n
}

var (
	// graftrainWord is the program in a command line: graftrain,
	// ./cmd/graftrain, /tmp/graftrain, or the image graftrain:gpu.
	graftrainWord = regexp.MustCompile(`^(?:\S*/)?graftrain(?::[A-Za-z0-9_.-]+)?$`)
	commandWord   = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
	flagWord      = regexp.MustCompile(`^\[?--([a-z][a-z0-9-]*)`)
)

// mention is a graftrain command named in a line of code.
type mention struct {
	path  []string
	node  *cmdNode
	flags []string // long flags written after it, without "--"
}

// commandsIn returns the graftrain commands a line of code names, and the
// words in command position that name no command.
func commandsIn(line string, tree *cmdNode) (named []mention, unknown []string) {
	words := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "$ "))
	for i, w := range words {
		if !graftrainWord.MatchString(strings.Trim(w, "`")) {
			continue
		}
		m := mention{node: tree}
		rest := words[i+1:]
		for len(rest) > 0 {
			next := strings.Trim(rest[0], "`,.")
			c, ok := m.node.children[next]
			if !ok {
				if len(m.node.children) > 0 && commandWord.MatchString(next) {
					unknown = append(unknown, strings.Join(append(slices.Clone(m.path), next), " "))
				}
				break
			}
			m.node, m.path, rest = c, append(m.path, next), rest[1:]
		}
		for _, r := range rest {
			if r == "|" || r == "&&" || r == ";" || r == "||" || graftrainWord.MatchString(r) {
				break
			}
			if f := flagWord.FindStringSubmatch(r); f != nil {
				m.flags = append(m.flags, f[1])
			}
		}
		named = append(named, m)
	}
	return named, unknown
}

// flagExists reports whether graftrain's command accepts a long flag: listed
// by --help, or hidden but accepted (graftrain CMD --flag=1 --help exits 0).
func flagExists(m mention, flag string) bool {
	if m.node.flags[flag] {
		return true
	}
	args := append(slices.Clone(m.path), "--"+flag+"=1", "--help")
	_, code, err := run(os.TempDir(), nil, args)
	return err == nil && code == 0
}

// Every graftrain command the docs name, in code blocks, indented code and
// inline code, exists in graftrain's command tree, with the flags written
// after it.
func TestDocumentedCommandsExist(t *testing.T) {
	needBinary(t)
	tree := commandTree(t, nil)
	if len(tree.children) < 5 {
		t.Fatalf("graftrain --help lists only %d commands", len(tree.children))
	}
	train := mention{path: []string{"train"}, node: tree.children["train"]}
	if train.node == nil || !flagExists(train, "dry-run") || !flagExists(train, "config") || flagExists(train, "no-such-flag") {
		t.Fatal("graftrain train's flags are not read right from its --help")
	}
	found := 0
	checked := map[string]bool{}
	for _, p := range pages(t) {
		for _, c := range p.codeLines() {
			named, unknown := commandsIn(c.text, tree)
			for _, u := range unknown {
				t.Errorf("%s:%d: graftrain %s: no such command in graftrain --help (in %q)", c.file, c.line, u, strings.TrimSpace(c.text))
			}
			for _, m := range named {
				found++
				for _, f := range m.flags {
					key := strings.Join(m.path, " ") + " --" + f
					if ok, seen := checked[key]; seen && ok {
						continue
					}
					checked[key] = flagExists(m, f)
					if !checked[key] {
						t.Errorf("%s:%d: graftrain %s has no flag --%s (in %q)", c.file, c.line, strings.Join(m.path, " "), f, strings.TrimSpace(c.text))
					}
				}
			}
		}
	}
	if found == 0 {
		t.Error("no graftrain command found in the docs")
	}
}

// Every relative link resolves to a file, and a #fragment to a heading.
func TestRelativeLinks(t *testing.T) {
	all := pages(t)
	anchors := map[string]map[string]bool{}
	for _, p := range all {
		abs, _ := filepath.Abs(p.file)
		anchors[abs] = p.anchors()
	}
	for _, p := range all {
		for _, l := range p.links() {
			target := l.target
			if regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`).MatchString(target) {
				continue // http:, https:, mailto:
			}
			file, frag, _ := strings.Cut(target, "#")
			path := p.file
			if file != "" {
				path = filepath.Join(filepath.Dir(p.file), filepath.FromSlash(file))
				if _, err := os.Stat(path); err != nil {
					t.Errorf("%s:%d: link %s: %s does not exist", p.file, l.line, target, path)
					continue
				}
			}
			if frag == "" {
				continue
			}
			abs, _ := filepath.Abs(path)
			a, ok := anchors[abs]
			if !ok {
				if !strings.HasSuffix(path, ".md") {
					continue
				}
				text, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				q, err := parsePage(path, string(text))
				if err != nil {
					t.Fatal(err)
				}
				a = q.anchors()
			}
			if !a[frag] {
				t.Errorf("%s:%d: link %s: %s has no heading with anchor #%s", p.file, l.line, target, path, frag)
			}
		}
	}
}

var examplePath = regexp.MustCompile(`^#\s*(examples/[A-Za-z0-9_.-]+\.ya?ml)\s*$`)

// A YAML snippet whose first line names an examples/ file is that file,
// so that the configs shown are the configs the next test validates.
func TestSnippetsMatchExamples(t *testing.T) {
	n := 0
	for _, p := range pages(t) {
		for _, b := range p.blocks {
			if b.kind() != "yaml" || len(b.lines) == 0 {
				continue
			}
			m := examplePath.FindStringSubmatch(b.lines[0])
			if m == nil {
				continue
			}
			n++
			want, err := os.ReadFile(filepath.Join("..", m[1]))
			if err != nil {
				t.Errorf("%s:%d: snippet names %s: %v", p.file, b.line, m[1], err)
				continue
			}
			got := strings.Join(b.lines, "\n") + "\n"
			if got != string(want) {
				t.Errorf("%s:%d: snippet differs from %s; copy the file into the page (or the page into the file)\n--- page\n%s--- file\n%s",
					p.file, b.line, m[1], got, want)
			}
		}
	}
	t.Logf("%d snippets checked against examples/", n)
}

// Every example config is valid and plans against its manifest.
func TestExampleConfigs(t *testing.T) {
	needBinary(t)
	files, err := filepath.Glob("../examples/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no example configs: %v", err)
	}
	dir := workspace(t)
	for _, f := range files {
		cfg := filepath.Join("examples", filepath.Base(f))
		for _, args := range [][]string{{"config", "validate", "--config", cfg}, {"plan", "--config", cfg}} {
			out, code, err := run(dir, nil, args)
			if err != nil || code != 0 {
				t.Errorf("graftrain %s: exit %d, %v\n%s", strings.Join(args, " "), code, err, out)
			}
		}
	}
}
