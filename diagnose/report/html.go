package report

import (
	"bytes"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/graftrain/graftrain/checkpoints"
	"github.com/graftrain/graftrain/diagnose"
)

// IndexFile is the report page inside the report directory.
const IndexFile = "index.html"

type section struct {
	Plot     Plot
	Findings []diagnose.Finding
}

type page struct {
	Run      string
	Summary  string
	Notes    []string
	Findings []diagnose.Finding
	Sections []section
}

// Write writes dir/index.html and its plots for the findings of r, and
// returns the page's path. Plots of an earlier report are replaced.
func Write(dir string, r *diagnose.Run, fs []diagnose.Finding) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("report directory: %w", err)
	}
	old, _ := filepath.Glob(filepath.Join(dir, "*.png"))
	for _, f := range old {
		_ = os.Remove(f)
	}
	plots, err := makePlots(dir, r)
	if err != nil {
		return "", err
	}
	p := page{Run: r.Dir, Notes: r.Notes, Findings: fs}
	first, last := int64(0), int64(0)
	if n := len(r.Train); n > 0 {
		first, last = r.Train[0].Step, r.Train[n-1].Step
	}
	p.Summary = fmt.Sprintf("%d training steps (%d–%d), %d validation passes, %d stages", len(r.Train), first, last, len(r.Val), len(r.Stages()))
	if r.DryRun {
		p.Summary += "; dry run with the pure-Go stand-in model"
	}
	shown := map[int]bool{}
	for _, pl := range plots {
		s := section{Plot: pl}
		for i, f := range fs {
			if slices.Contains(f.Plots, pl.Name) {
				s.Findings = append(s.Findings, f)
				shown[i] = true
			}
		}
		p.Sections = append(p.Sections, s)
	}
	var buf bytes.Buffer
	if err := pageTmpl.Execute(&buf, p); err != nil {
		return "", fmt.Errorf("render report: %w", err)
	}
	path := filepath.Join(dir, IndexFile)
	if err := checkpoints.WriteFileAtomic(path, buf.Bytes()); err != nil {
		return "", err
	}
	return path, nil
}

var pageTmpl = template.Must(template.New("page").Funcs(template.FuncMap{
	"sev":   func(s diagnose.Severity) string { return s.String() },
	"args":  func(f diagnose.Finding) string { return f.SetArgs() },
	"upper": strings.ToUpper,
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>graftrain diagnosis: {{.Run}}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; max-width: 1400px; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; border-bottom: 1px solid #ccc; }
.finding { border-left: 5px solid #999; padding: .4em .8em; margin: .6em 0; background: #fafafa; }
.critical { border-color: #8b0000; } .error { border-color: #d9480f; } .warning { border-color: #e8a400; } .info { border-color: #4c84c4; }
.sev { font-weight: bold; text-transform: uppercase; font-size: .8em; }
code { background: #eee; padding: 0 .25em; }
.row { display: flex; gap: 1.2em; align-items: flex-start; flex-wrap: wrap; }
.row figure { margin: 0; flex: 0 0 auto; } .row img { width: 845px; max-width: 100%; border: 1px solid #ddd; }
.row .side { flex: 1 1 320px; min-width: 300px; }
figcaption { font-size: .85em; color: #555; max-width: 845px; }
ul { margin: .3em 0; padding-left: 1.2em; }
</style>
</head>
<body>
<h1>Diagnosis of {{.Run}}</h1>
<p>{{.Summary}}</p>
{{range .Notes}}<p><em>Note: {{.}}</em></p>{{end}}
<h2>Findings, most likely cause first</h2>
{{if not .Findings}}<p id="no-findings">No problems found.</p>{{end}}
<ol>
{{range .Findings}}<li><a href="#{{.ID}}-{{.Stage}}-{{.Subject}}">{{.Title}}</a> <span class="sev">({{sev .Severity}}, {{.ID}})</span></li>
{{end}}</ol>
{{range .Findings}}{{template "finding" .}}{{end}}
<h2>Plots</h2>
{{range .Sections}}
<h2 id="plot-{{.Plot.Name}}">{{.Plot.Title}}</h2>
<div class="row">
<figure><img src="{{.Plot.File}}" alt="{{.Plot.Title}}"><figcaption>{{.Plot.Caption}}</figcaption></figure>
<div class="side">{{if .Findings}}{{range .Findings}}<div class="finding {{sev .Severity}}"><span class="sev">{{sev .Severity}}</span> <a href="#{{.ID}}-{{.Stage}}-{{.Subject}}"><code>{{.ID}}</code></a>: {{.Title}}{{if .Fix}}<br>fix: <code>{{args .}}</code>{{end}}</div>{{end}}{{else}}<p>No finding concerns this plot.</p>{{end}}</div>
</div>
{{end}}
</body>
</html>
{{define "finding"}}<div class="finding {{sev .Severity}}" id="{{.ID}}-{{.Stage}}-{{.Subject}}">
<span class="sev">{{sev .Severity}}</span> <code>{{.ID}}</code>{{if ge .Stage 0}} · stage {{.Stage}} {{.StageName}}{{end}} · steps {{.FirstStep}}–{{.LastStep}} · confidence {{printf "%.2f" .Confidence}}
<p><strong>{{.Title}}</strong></p>
<ul>{{range .Evidence}}<li>{{.}}</li>{{end}}</ul>
<p>{{.Explanation}}</p>
{{if .Fix}}<p>Fix: <code>{{args .}}</code></p>{{end}}
{{if .Plots}}<p>See: {{range .Plots}}<a href="#plot-{{.}}">{{.}}</a> {{end}}</p>{{end}}
</div>
{{end}}`))
