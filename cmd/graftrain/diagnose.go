package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/graftrain/graftrain/diagnose"
	"github.com/graftrain/graftrain/diagnose/report"
)

func newDiagnoseCmd(a *app) *cobra.Command {
	var asJSON, noReport bool
	var window int
	cmd := &cobra.Command{
		Use:   "diagnose RUN_DIR",
		Short: "Say why training is stuck and what to change: ranked findings and an HTML report",
		Long: `Read a run directory (metrics.jsonl, config.yaml, checkpoints/ and
data_check.json when present), run every detector and print the findings,
most likely cause first, each with its evidence and the --set overrides that
fix it. Writes RUN_DIR/report/index.html with the plots (open it from disk).
See docs/diagnosing.md for every finding.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			r, err := diagnose.Load(dir)
			if err != nil {
				return err
			}
			if window <= 0 && r.Config != nil {
				window = r.Config.Diagnose.Window
			}
			fs := diagnose.Diagnose(r, diagnose.DefaultThresholds(window))
			var page string
			if !noReport {
				if page, err = report.Write(filepath.Join(dir, "report"), r, fs); err != nil {
					return err
				}
			}
			if asJSON {
				enc := json.NewEncoder(a.out)
				enc.SetIndent("", "  ")
				return enc.Encode(struct {
					Run      string             `json:"run"`
					Report   string             `json:"report,omitempty"`
					Notes    []string           `json:"notes,omitempty"`
					Findings []diagnose.Finding `json:"findings"`
				}{dir, page, r.Notes, nonNil(fs)})
			}
			if err := diagnose.WriteText(a.out, r, fs); err != nil {
				return err
			}
			if page != "" {
				fmt.Fprintf(a.out, "\nreport: %s\n", page)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&asJSON, "json", false, "print the findings as JSON")
	f.BoolVar(&noReport, "no-report", false, "do not write RUN_DIR/report/")
	f.IntVar(&window, "window", 0, "steps the plateau test looks at (0: the run's diagnose.window)")
	return cmd
}

func nonNil(fs []diagnose.Finding) []diagnose.Finding {
	if fs == nil {
		return []diagnose.Finding{}
	}
	return fs
}
