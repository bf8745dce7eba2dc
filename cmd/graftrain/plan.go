package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/graftrain/graftrain/train/stage"
)

// planOptions are the flags of `graftrain plan`.
type planOptions struct {
	json       bool
	stage      string
	vectorPath string
}

func newPlanCmd(a *app) *cobra.Command {
	var o planOptions
	cmd := &cobra.Command{
		Use:   "plan [MODEL_DIR] [--variables FILE] [--json] [--stage NAME --variables-out FILE]",
		Short: "Show which variables each stage trains, with which learning rate",
		Long: `plan resolves the config's groups and stages against a model's variables
manifest and prints, for every stage, a table of groups: variables,
parameters, what trains, the LR multiplier and the effective learning rate
at the stage's first step and after warm-up; then the loss weights and any
warnings. Nothing runs on a device.

The manifest is MODEL_DIR/assets/graftrain_variables.json when MODEL_DIR is
given, else model.variables (--variables), else model.dir's manifest.
--variables-out writes the per-variable multiplier vector of one stage
(--stage, default the first) exactly as the trainer feeds it.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, a, args) },
	}
	f := cmd.Flags()
	f.String("variables", "", "variables manifest (graftrain_variables.json) when no MODEL_DIR is given (config model.variables)")
	bindFlag(cmd, "variables", "model.variables")
	f.BoolVar(&o.json, "json", false, "print the plan as JSON")
	f.StringVar(&o.stage, "stage", "", "stage whose multiplier vector --variables-out writes (default: the first)")
	f.StringVar(&o.vectorPath, "variables-out", "", "write the stage's per-variable multiplier vector to this JSON file")
	return cmd
}

func (o *planOptions) run(cmd *cobra.Command, a *app, args []string) error {
	if o.stage != "" && o.vectorPath == "" {
		return errors.New("--stage selects the stage for --variables-out; give --variables-out FILE too")
	}
	cfg, err := a.loadConfig(cmd)
	if err != nil {
		return err
	}
	var path string
	switch {
	case len(args) == 1:
		path = stage.ManifestPath(args[0])
	case cfg.Model.Variables != "":
		path = cfg.Model.Variables
	case cfg.Model.Dir != "":
		path = stage.ManifestPath(cfg.Model.Dir)
	default:
		return errors.New("no variables manifest: give MODEL_DIR, --variables FILE, or set model.variables or model.dir in the config")
	}
	m, err := stage.ReadManifest(path)
	if err != nil {
		return err
	}
	p, err := stage.Build(cfg, m)
	if err != nil {
		return fmt.Errorf("plan for %s:\n%w", path, err)
	}
	if o.vectorPath != "" {
		i := 0
		if o.stage != "" {
			s, ok := p.Stage(o.stage)
			if !ok {
				names := make([]string, len(p.Stages))
				for k, s := range p.Stages {
					names[k] = s.Name
				}
				return fmt.Errorf("--stage %q: no such stage (stages: %v)", o.stage, names)
			}
			i = s.Index
		}
		var buf bytes.Buffer
		if err := p.WriteVector(&buf, i); err != nil {
			return err
		}
		if err := os.WriteFile(o.vectorPath, buf.Bytes(), 0o644); err != nil {
			return fmt.Errorf("--variables-out: %w", err)
		}
	}
	if o.json {
		return p.WriteJSON(a.out)
	}
	return p.WriteText(a.out)
}
