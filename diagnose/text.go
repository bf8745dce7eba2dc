package diagnose

import (
	"fmt"
	"io"
	"strings"
)

// WriteText prints ranked findings for a terminal: the first is the most
// likely cause and comes with the overrides that fix it.
func WriteText(w io.Writer, r *Run, fs []Finding) error {
	var b strings.Builder
	if r != nil {
		first, last := steps(r.Train)
		fmt.Fprintf(&b, "%s: %d training steps (%d–%d), %d validation passes, %d stage(s)", r.Dir, len(r.Train), first, last, len(r.Val), len(r.Stages()))
		if r.DryRun {
			b.WriteString(", dry run")
		}
		b.WriteString("\n")
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "note: %s\n", n)
		}
	}
	if len(fs) == 0 {
		b.WriteString("no problems found\n")
	}
	for i, f := range fs {
		stage := "whole run"
		if f.Stage >= 0 {
			stage = fmt.Sprintf("stage %d %s", f.Stage, f.StageName)
		}
		fmt.Fprintf(&b, "\n%d. [%s] %s: %s\n   %s, steps %d–%d, confidence %.2f\n", i+1, strings.ToUpper(f.Severity.String()), f.ID, f.Title, stage, f.FirstStep, f.LastStep, f.Confidence)
		for _, e := range f.Evidence {
			fmt.Fprintf(&b, "   - %s\n", e)
		}
		fmt.Fprintf(&b, "   %s\n", f.Explanation)
		if len(f.Fix) > 0 {
			fmt.Fprintf(&b, "   fix: %s\n", f.SetArgs())
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
