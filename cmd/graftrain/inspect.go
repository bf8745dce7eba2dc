package main

import (
	"encoding/json"
	"errors"

	"github.com/spf13/cobra"

	"github.com/graftrain/graftrain/config"
	"github.com/graftrain/graftrain/tf/savedmodel"
)

// inspectOptions are the flags of `graftrain inspect`.
type inspectOptions struct {
	verify          bool
	json            bool
	requireContract bool
	tags            []string
}

func newInspectCmd(a *app) *cobra.Command {
	var o inspectOptions
	cmd := &cobra.Command{
		Use:   "inspect [MODEL_DIR | CHECKPOINT.index] [--verify] [--json] [--require-contract]",
		Short: "Show a SavedModel's signatures, variables, assets and checkpoint, and check the training contract",
		Long: `inspect reads a SavedModel directory without TensorFlow: tag sets, every
signature with its inputs and outputs, the variables, the assets, the saver,
every checkpoint key with dtype, shape and size, and the graftrain training
contract requirement by requirement with what to change in the export.

MODEL_DIR defaults to model.dir. A checkpoint .index file (or its prefix)
lists that checkpoint alone. --verify also checks the data shard sizes and
every entry's CRC32C. --require-contract exits with status 2 when the
contract is not met.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, a, args) },
	}
	f := cmd.Flags()
	f.BoolVar(&o.verify, "verify", false, "check data shard sizes and each checkpoint entry's CRC32C")
	f.BoolVar(&o.json, "json", false, "print the inspection as JSON")
	f.BoolVar(&o.requireContract, "require-contract", false, "exit with status 2 unless the training contract is met")
	f.StringSliceVar(&o.tags, "tags", nil, "meta graph tag set to check (config model.tags)")
	_ = f.SetAnnotation("tags", config.FlagKeyAnnotation, []string{"model.tags"})
	return cmd
}

func (o *inspectOptions) run(cmd *cobra.Command, a *app, args []string) error {
	cfg, err := a.loadConfig(cmd)
	if err != nil {
		return err
	}
	path := cfg.Model.Dir
	if len(args) == 1 {
		path = args[0]
	}
	if path == "" {
		return &exitError{code: 2, err: errors.New("inspect: give MODEL_DIR (or set model.dir)")}
	}
	in, err := savedmodel.Inspect(cmd.Context(), path, savedmodel.InspectOptions{Tags: cfg.Model.Tags, Verify: o.verify})
	if err != nil {
		return err
	}
	if o.json {
		enc := json.NewEncoder(a.out)
		enc.SetIndent("", "  ")
		err = enc.Encode(in)
	} else {
		err = in.WriteText(a.out)
	}
	if err != nil {
		return err
	}
	if in.Verify != nil {
		if verr := in.Verify.Err(); verr != nil {
			return &exitError{code: 1, err: verr}
		}
	}
	if o.requireContract {
		if in.Contract == nil {
			return &exitError{code: 2, err: errors.New("--require-contract needs a SavedModel directory, not a lone checkpoint")}
		}
		if cerr := in.Contract.Err(); cerr != nil {
			return &exitError{code: 2, err: cerr}
		}
	}
	return nil
}
