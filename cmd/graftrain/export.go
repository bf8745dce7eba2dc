package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/graftrain/graftrain/checkpoints"
	"github.com/graftrain/graftrain/config"
	"github.com/graftrain/graftrain/tf/export"
	"github.com/graftrain/graftrain/train/run"
)

type exportOptions struct {
	run, model, out string
	step            int64
}

func newExportCmd(a *app) *cobra.Command {
	var o exportOptions
	cmd := &cobra.Command{
		Use:   "export --run RUN [--checkpoint STEP] --out DIR",
		Short: "Write a run's checkpoint as a new SavedModel loadable by any TensorFlow",
		Long: `Write a new SavedModel to --out: the trained model's saved_model.pb and
assets/ copied, and the run's checkpoint (the newest good one, or
--checkpoint STEP) as variables/variables. The checkpoint must hold exactly
the model's variables (same keys, dtypes and shapes, every CRC intact);
checkpoints of a dry run are refused. The model is model.dir of the run's
config.yaml unless --model names it. Needs no TensorFlow.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runExport(cmd, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.run, "run", "", "run directory (holds config.yaml and checkpoints/)")
	f.Int64Var(&o.step, "checkpoint", -1, "step of the checkpoint to export (default: the newest that verifies)")
	f.StringVar(&o.out, "out", "", "directory of the new SavedModel (must not exist or be empty)")
	f.StringVar(&o.model, "model", "", "SavedModel the run trained (default: model.dir of the run's config.yaml)")
	_ = cmd.MarkFlagRequired("run")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

func (a *app) runExport(cmd *cobra.Command, o exportOptions) error {
	ctx := cmd.Context()
	if _, err := os.Stat(filepath.Join(o.run, run.DryRunFile)); err == nil {
		return fmt.Errorf("%s is a dry run: its checkpoints hold the pure-Go stand-in model, not the SavedModel's variables", o.run)
	}
	ckDir := filepath.Join(o.run, run.CkptDir)
	if _, err := os.Stat(ckDir); err != nil {
		return fmt.Errorf("run %s: %w", o.run, err)
	}
	model := o.model
	if model == "" {
		cfg, err := config.Load(config.Sources{File: filepath.Join(o.run, run.ConfigFile)})
		if err != nil {
			return fmt.Errorf("read the run's config (or pass --model): %w", err)
		}
		if model = cfg.Model.Dir; model == "" {
			return fmt.Errorf("%s has no model.dir; pass --model", filepath.Join(o.run, run.ConfigFile))
		}
	}
	mgr, err := checkpoints.Open(ckDir, checkpoints.Options{})
	if err != nil {
		return err
	}
	var meta checkpoints.Meta
	if o.step >= 0 {
		name := checkpoints.Name(o.step)
		if meta, err = mgr.ReadMeta(name); errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("run %s has no complete checkpoint %s (graftrain checkpoints list %s shows them)", o.run, name, o.run)
		} else if err != nil {
			return err
		}
		if err := mgr.Verify(ctx, meta); err != nil {
			return err
		}
	} else if meta, err = mgr.Latest(ctx); err != nil {
		return fmt.Errorf("run %s: %w", o.run, err)
	}
	if meta.DryRun {
		return fmt.Errorf("checkpoint %s was written by a dry run (the stand-in model); it cannot be exported", meta.Name)
	}
	res, err := export.Write(ctx, export.Options{Model: model, Checkpoint: mgr.Prefix(meta.Name), Out: o.out})
	if err != nil {
		return err
	}
	fmt.Fprintf(a.out, "exported %s (step %d, %d tensors) of %s to %s\n", meta.Name, meta.Step, res.Tensors, model, res.Out)
	for _, f := range res.Files {
		fmt.Fprintf(a.out, "  %s\n", f)
	}
	return nil
}
