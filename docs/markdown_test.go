package docs_test

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
)

// block is a fenced code block of a Markdown page.
type block struct {
	file  string
	line  int    // line of the opening fence, 1-based
	info  string // the fence's info string: console, sh, yaml, ...
	lines []string
}

// kind is the first word of the info string ("" when there is none).
func (b *block) kind() string {
	if f := strings.Fields(b.info); len(f) > 0 {
		return f[0]
	}
	return ""
}

// codeLine is one line of code (a fenced block of a shell-like kind, an
// indented block or an inline code span) with its place in the page.
type codeLine struct {
	file string
	line int
	text string
}

// page is a Markdown file split into fenced blocks and the rest.
type page struct {
	file   string
	blocks []block
	// prose is the page with every fenced block's lines blanked, so that
	// line numbers stay those of the file.
	prose []string
}

func parsePage(file, text string) (*page, error) {
	p := &page{file: file}
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	var open *block
	var indent, fence int
	for i, l := range lines {
		trimmed := strings.TrimLeft(l, " ")
		if open != nil {
			if n := countPrefix(trimmed, '`'); n >= fence && strings.TrimSpace(trimmed[n:]) == "" {
				p.blocks = append(p.blocks, *open)
				open = nil
			} else {
				open.lines = append(open.lines, dedent(l, indent))
			}
			p.prose = append(p.prose, "")
			continue
		}
		if n := countPrefix(trimmed, '`'); n >= 3 && !strings.Contains(trimmed[n:], "`") {
			open = &block{file: file, line: i + 1, info: strings.TrimSpace(trimmed[n:])}
			indent, fence = len(l)-len(trimmed), n
			p.prose = append(p.prose, "")
			continue
		}
		p.prose = append(p.prose, l)
	}
	if open != nil {
		return nil, fmt.Errorf("%s:%d: code fence never closed", file, open.line)
	}
	return p, nil
}

func countPrefix(s string, c byte) int {
	n := 0
	for n < len(s) && s[n] == c {
		n++
	}
	return n
}

// dedent removes up to n leading spaces, as CommonMark does for the content
// of an indented fence.
func dedent(s string, n int) string {
	for i := 0; i < n && strings.HasPrefix(s, " "); i++ {
		s = s[1:]
	}
	return s
}

// shellKinds are the info strings of blocks that show commands.
var shellKinds = map[string]bool{"": true, "console": true, "sh": true, "shell": true, "bash": true, "text": true}

// codeLines returns the lines where a command may be written: lines of
// shell-like fenced blocks, indented code lines, and inline code spans (a
// span may continue on the next line of its paragraph).
func (p *page) codeLines() []codeLine {
	var out []codeLine
	for _, b := range p.blocks {
		if !shellKinds[b.kind()] {
			continue
		}
		// In a transcript only the "$ " lines are commands; the rest is
		// output.
		transcript := slices.ContainsFunc(b.lines, func(l string) bool { return strings.HasPrefix(l, "$ ") })
		for i, l := range b.lines {
			if !transcript || strings.HasPrefix(l, "$ ") {
				out = append(out, codeLine{p.file, b.line + 1 + i, l})
			}
		}
	}
	for i, l := range p.prose {
		if strings.HasPrefix(l, "    ") || strings.HasPrefix(l, "\t") {
			out = append(out, codeLine{p.file, i + 1, l})
		}
	}
	return append(out, p.inlineCode()...)
}

// inlineCode returns the page's inline code spans outside fenced blocks.
func (p *page) inlineCode() []codeLine {
	var out []codeLine
	text := strings.Join(p.prose, "\n")
	lineAt := func(off int) int { return strings.Count(text[:off], "\n") + 1 }
	for i := 0; i < len(text); {
		if text[i] != '`' {
			i++
			continue
		}
		n := countPrefix(text[i:], '`')
		start := i + n
		end := findRun(text, start, n)
		if end < 0 || strings.Contains(text[start:end], "\n\n") {
			i = start
			continue
		}
		span := strings.TrimSpace(strings.ReplaceAll(text[start:end], "\n", " "))
		out = append(out, codeLine{p.file, lineAt(i), span})
		i = end + n
	}
	return out
}

// findRun returns the offset of the next run of exactly n backticks at or
// after from, or -1.
func findRun(s string, from, n int) int {
	for i := from; i < len(s); {
		if s[i] != '`' {
			i++
			continue
		}
		m := countPrefix(s[i:], '`')
		if m == n {
			return i
		}
		i += m
	}
	return -1
}

// link is a Markdown link target with its place in the page.
type link struct {
	line   int
	target string
}

var (
	inlineLink = regexp.MustCompile(`\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)`)
	refLink    = regexp.MustCompile(`(?m)^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)`)
	codeSpan   = regexp.MustCompile("`+[^`]*`+")
)

// links returns the targets of inline and reference links outside code.
func (p *page) links() []link {
	var out []link
	for i, l := range p.prose {
		l = codeSpan.ReplaceAllString(l, "")
		for _, m := range inlineLink.FindAllStringSubmatch(l, -1) {
			out = append(out, link{i + 1, m[1]})
		}
		for _, m := range refLink.FindAllStringSubmatch(l, -1) {
			out = append(out, link{i + 1, m[1]})
		}
	}
	return out
}

// anchors returns the fragment identifiers GitHub gives the page's headings.
func (p *page) anchors() map[string]bool {
	seen := map[string]int{}
	out := map[string]bool{}
	for _, l := range p.prose {
		t := strings.TrimLeft(l, " ")
		if len(l)-len(t) > 3 || !strings.HasPrefix(t, "#") {
			continue
		}
		n := countPrefix(t, '#')
		if n > 6 || (len(t) > n && t[n] != ' ') {
			continue
		}
		s := slug(strings.TrimRight(strings.TrimSpace(t[n:]), "#"))
		if k := seen[s]; k > 0 {
			out[fmt.Sprintf("%s-%d", s, k)] = true
		} else {
			out[s] = true
		}
		seen[s]++
	}
	return out
}

// slug is GitHub's heading anchor: lower case, punctuation dropped, spaces
// turned into hyphens.
func slug(heading string) string {
	heading = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`).ReplaceAllString(heading, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}
