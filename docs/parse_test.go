package docs_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestShellWords(t *testing.T) {
	tests := []struct {
		in      string
		words   []string
		comment string
		err     bool
	}{
		{in: "graftrain plan --config examples/shapes.yaml", words: []string{"graftrain", "plan", "--config", "examples/shapes.yaml"}},
		{in: `graftrain --set 'groups.fpn=^fpn_' --set "a=b c"`, words: []string{"graftrain", "--set", "groups.fpn=^fpn_", "--set", "a=b c"}},
		{in: `graftrain --set stages.0.layers=[rpn,\ fpn]`, words: []string{"graftrain", "--set", "stages.0.layers=[rpn, fpn]"}},
		{in: "graftrain config validate   # exit 1", words: []string{"graftrain", "config", "validate"}, comment: " exit 1"},
		{in: "GRAFTRAIN_TRAIN_SEED=7 graftrain config show", words: []string{"GRAFTRAIN_TRAIN_SEED=7", "graftrain", "config", "show"}},
		{in: "graftrain --set a=#1", words: []string{"graftrain", "--set", "a=#1"}},
		{in: `graftrain "x\"y"`, words: []string{"graftrain", `x"y`}},
		{in: "graftrain inspect --json m | jq .", err: true},
		{in: "graftrain inspect $(pwd)", err: true},
		{in: `graftrain inspect "$HOME"`, err: true},
		{in: "graftrain plan > out.txt", err: true},
		{in: "graftrain 'open", err: true},
	}
	for _, tt := range tests {
		words, comment, err := shellWords(tt.in)
		if (err != nil) != tt.err {
			t.Errorf("shellWords(%q) error %v, want error %v", tt.in, err, tt.err)
			continue
		}
		if !tt.err && (!reflect.DeepEqual(words, tt.words) || comment != tt.comment) {
			t.Errorf("shellWords(%q) = %q, %q; want %q, %q", tt.in, words, comment, tt.words, tt.comment)
		}
	}
}

func TestParseConsole(t *testing.T) {
	b := block{file: "x.md", line: 10, info: "console", lines: []string{
		"$ graftrain train --dry-run \\",
		"    --config examples/shapes.yaml",
		"dry run finished: 40 steps",
		"",
		"$ GRAFTRAIN_TRAIN_SEED=1 graftrain config validate --set x=1  # exit 1",
		"...",
	}}
	steps, err := parseConsole(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 2 {
		t.Fatalf("got %d steps, want 2", len(steps))
	}
	if got := strings.Join(steps[0].args, " "); got != "train --dry-run --config examples/shapes.yaml" {
		t.Errorf("step 1 args %q", got)
	}
	if steps[0].line != 11 || len(steps[0].expect) != 1 || steps[0].expect[0].line != 13 || steps[0].wantExit != 0 {
		t.Errorf("step 1 = %+v", steps[0])
	}
	if steps[1].wantExit != 1 || !reflect.DeepEqual(steps[1].env, []string{"GRAFTRAIN_TRAIN_SEED=1"}) || steps[1].line != 15 {
		t.Errorf("step 2 = %+v", steps[1])
	}

	for _, bad := range [][]string{
		{"output before any command"},
		{"$ go run ./cmd/graftrain plan"},
		{"$ head -4 finetune.json"},
		{},
	} {
		if _, err := parseConsole(block{file: "x.md", line: 1, lines: bad}); err == nil {
			t.Errorf("parseConsole(%q) accepted", bad)
		}
	}
}

func TestMatches(t *testing.T) {
	out := []string{
		"NAME     STEP  STAGE  EPOCH  TOTAL_LOSS",
		"ckpt-40  40    all    4      3.904       2026-11-28T11:01:06Z  latest,best,dry-run",
		"dry run finished: 40 steps, last checkpoint ckpt-40",
	}
	tests := []struct {
		want string
		ok   bool
	}{
		{"dry run finished: 40 steps", true},
		{"  NAME STEP STAGE   EPOCH", true},
		{"ckpt-40 40 all 4 3.904 ... latest,best,dry-run", true},
		{"ckpt-40 ... 2026 ... dry-run", true},
		{"dry run finished: 41 steps", false},
		{"ckpt-40 ... finished", false}, // the parts must be on one line
		{"latest ... ckpt-40", false},   // and in order
	}
	for _, tt := range tests {
		if got := matches(out, tt.want); got != tt.ok {
			t.Errorf("matches(%q) = %v, want %v", tt.want, got, tt.ok)
		}
	}
}

func TestCommandsIn(t *testing.T) {
	leaf := func() *cmdNode { return &cmdNode{children: map[string]*cmdNode{}} }
	tree := &cmdNode{children: map[string]*cmdNode{
		"plan":        leaf(),
		"train":       leaf(),
		"checkpoints": {children: map[string]*cmdNode{"list": leaf(), "diff": leaf()}},
	}}
	tests := []struct {
		line    string
		named   []string // path, then flags
		unknown []string
	}{
		{line: "$ graftrain plan --config x.yaml", named: []string{"plan --config"}},
		{line: "go run ./cmd/graftrain train --dry-run", named: []string{"train --dry-run"}},
		{line: "graftrain checkpoints list RUN [--verify] [--json]", named: []string{"checkpoints list --verify --json"}},
		{line: "docker run --rm --gpus all graftrain:gpu train --config /models/c.yaml", named: []string{"train --config"}},
		{line: "graftrain diagnose runs/x", named: []string{""}, unknown: []string{"diagnose"}},
		{line: "graftrain checkpoints prune", named: []string{"checkpoints"}, unknown: []string{"checkpoints prune"}},
		{line: "graftrain: invalid configuration (5 problems):"},
		{line: "go build -o graftrain ./cmd/graftrain && ./graftrain --help", named: []string{"", "", " --help"}},
		{line: "docker run --rm graftrain-dev scripts/smoke.sh"},
		{line: "graftrain plan --json | jq --raw-output .", named: []string{"plan --json"}},
		{line: "graftrain models/coco", named: []string{""}}, // a path is no command word
	}
	for _, tt := range tests {
		named, unknown := commandsIn(tt.line, tree)
		var got []string
		for _, m := range named {
			s := strings.Join(m.path, " ")
			for _, f := range m.flags {
				s += " --" + f
			}
			got = append(got, s)
		}
		if !reflect.DeepEqual(got, tt.named) || !reflect.DeepEqual(unknown, tt.unknown) {
			t.Errorf("commandsIn(%q) = %q, %q; want %q, %q", tt.line, got, unknown, tt.named, tt.unknown)
		}
	}
}

func TestParsePage(t *testing.T) {
	text := strings.Join([]string{
		"# Title", // 1
		"See [stages](stages.md#multipliers) and `graftrain", // 2
		"plan` here.",                     // 3
		"",                                // 4
		"1. Step:",                        // 5
		"",                                // 6
		"   ```console",                   // 7
		"   $ graftrain plan",             // 8
		"   ```",                          // 9
		"",                                // 10
		"    graftrain-export --tiny",     // 11
		"```",                             // 12
		"$ graftrain plan --json",         // 13
		"graftrain: error printed",        // 14
		"```",                             // 15
		"## Title",                        // 16
		"### `graftrain train --dry-run`", // 17
		"```yaml",                         // 18
		"# [not a link](x.md)",            // 19
		"```",                             // 20
		"[ref]: ../README.md",             // 21
	}, "\n")
	p, err := parsePage("p.md", text)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.blocks) != 3 || p.blocks[0].kind() != "console" || p.blocks[0].line != 7 ||
		!reflect.DeepEqual(p.blocks[0].lines, []string{"$ graftrain plan"}) ||
		p.blocks[1].kind() != "" || p.blocks[2].kind() != "yaml" {
		t.Fatalf("blocks = %+v", p.blocks)
	}
	wantLinks := []link{{2, "stages.md#multipliers"}, {21, "../README.md"}}
	if got := p.links(); !reflect.DeepEqual(got, wantLinks) {
		t.Errorf("links = %v, want %v", got, wantLinks)
	}
	for _, a := range []string{"title", "title-1", "graftrain-train---dry-run"} {
		if !p.anchors()[a] {
			t.Errorf("no anchor %q in %v", a, p.anchors())
		}
	}
	var code []string
	for _, c := range p.codeLines() {
		code = append(code, c.text)
	}
	for _, want := range []string{"$ graftrain plan", "    graftrain-export --tiny", "graftrain plan", "graftrain train --dry-run", "$ graftrain plan --json"} {
		if !slices.Contains(code, want) {
			t.Errorf("code lines %q lack %q", code, want)
		}
	}
	if slices.Contains(code, "graftrain: error printed") {
		t.Errorf("an output line of a transcript was taken as a command: %q", code)
	}
	if _, err := parsePage("q.md", "```sh\nnever closed\n"); err == nil {
		t.Error("unclosed fence accepted")
	}
}
