package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/graftrain/graftrain/config"
	"github.com/graftrain/graftrain/logs"
	"github.com/graftrain/graftrain/train"
	"github.com/graftrain/graftrain/train/run"
	"github.com/graftrain/graftrain/train/stage"
	"github.com/graftrain/graftrain/train/standin"
)

// modelRunner is what train needs from a model besides train.Runner.
type modelRunner interface {
	train.Runner
	// OptionalInputs names the contract's optional inputs the model declares.
	OptionalInputs() []string
}

type trainOptions struct {
	dryRun    bool
	resume    bool
	injectNaN string
}

func newTrainCmd(a *app) *cobra.Command {
	var o trainOptions
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Train the model stage by stage (--dry-run: rehearse with the pure-Go stand-in model)",
		Long: `Train the SavedModel of model.dir through its train_step signature, stage by
stage, into the run directory run.dir (config.yaml, log.jsonl, metrics.jsonl,
TensorBoard events, checkpoints/). A run directory that has checkpoints is
resumed from the newest good one.

--dry-run runs everything (data pipeline, stages, schedules, multipliers,
validation, NaN handling, checkpoints, resume, metrics, TensorBoard) with a
small pure-Go model laid out like the model's variables, in seconds and
without TensorFlow.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runTrain(cmd, o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.dryRun, "dry-run", false, "rehearse the whole run with the pure-Go stand-in model instead of TensorFlow")
	f.BoolVar(&o.resume, "resume", false, "require a checkpoint to resume from (a run directory with checkpoints is resumed anyway)")
	f.StringVar(&o.injectNaN, "inject-nan", "", "dry run only: comma-separated step calls (1-based) whose loss the stand-in makes NaN")
	_ = f.MarkHidden("inject-nan")
	return cmd
}

func (a *app) runTrain(cmd *cobra.Command, o trainOptions) error {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	cfg, err := a.loadConfig(cmd)
	if err != nil {
		return err
	}
	if !o.dryRun && !tensorflowAvailable {
		return errNoTensorFlow
	}
	if o.injectNaN != "" && !o.dryRun {
		return errors.New("--inject-nan works only with --dry-run")
	}
	if o.resume {
		if err := run.RequireCheckpoint(cfg.Run.Dir); err != nil {
			return err
		}
	}
	yaml, err := cfg.YAML(false)
	if err != nil {
		return err
	}
	if err := run.Prepare(cfg.Run.Dir, yaml, o.dryRun); err != nil {
		return err
	}
	log, closeLog, err := a.newLogger(cfg.Run.Dir)
	if err != nil {
		return err
	}
	defer closeLog()
	if o.dryRun {
		log = log.With().Bool("dry_run", true).Logger()
	}
	// A second signal exits at once: after the first has cancelled ctx,
	// give the signals their default action back.
	go func() {
		<-ctx.Done()
		signal.Reset(os.Interrupt, syscall.SIGTERM)
	}()

	man, err := stage.ReadManifest(manifestPath(cfg, o.dryRun))
	if err != nil {
		return err
	}
	sp, err := stage.Build(cfg, man)
	if err != nil {
		return err
	}
	for _, w := range sp.Warnings {
		log.Warn().Str("kind", string(w.Kind)).Msg(w.Message)
	}
	var r modelRunner
	if o.dryRun {
		nan, err := parseSteps(o.injectNaN)
		if err != nil {
			return err
		}
		r, err = standin.New(man, standin.Options{Seed: cfg.Train.Seed, Store: standin.BundleStore{}, InjectNaN: nan})
		if err != nil {
			return err
		}
	} else if r, err = newTFRunner(ctx, cfg, log); err != nil {
		return err
	}
	defer r.Close()
	trainDS, valDS, err := openDatasets(ctx, cfg, log)
	if err != nil {
		return err
	}
	plan, err := run.Plan(cfg, sp, trainDS.Len(), r.OptionalInputs())
	if err != nil {
		return err
	}
	for _, w := range run.Unfed(cfg, r.OptionalInputs()) {
		log.Warn().Msg(w)
	}
	opts := run.Options{
		Config: cfg, ConfigYAML: yaml, Dir: cfg.Run.Dir, Plan: plan, Runner: r,
		Train: trainDS, Val: valDS, Resume: true, DryRun: o.dryRun, Log: log,
	}
	if logs.IsTerminal(a.errOut) {
		opts.Progress = a.errOut
	}
	res, err := run.Run(ctx, opts)
	return a.reportTrain(cfg, res, err, o.dryRun)
}

func (a *app) reportTrain(cfg *config.Config, res run.Result, err error, dryRun bool) error {
	what := "training"
	if dryRun {
		what = "dry run"
	}
	var nf *train.NonFiniteError
	var ps *train.PlateauStopError
	switch {
	case errors.As(err, &ps):
		fmt.Fprintf(a.out, "%s stopped at step %d on a plateau (diagnose.on_plateau); checkpoint %s written; run graftrain diagnose %s for the causes\n", what, res.Steps, res.LastCheckpoint, cfg.Run.Dir)
		return nil
	case errors.Is(err, train.ErrInterrupted):
		fmt.Fprintf(a.out, "%s interrupted at step %d; checkpoint %s written; run the same command again to resume\n", what, res.Steps, res.LastCheckpoint)
		return &exitError{code: 130, err: err}
	case errors.As(err, &nf):
		return fmt.Errorf("%s stopped: %w", what, err)
	case err != nil:
		return err
	}
	fmt.Fprintf(a.out, "%s finished: %d steps, last checkpoint %s, run directory %s\n", what, res.Steps, res.LastCheckpoint, cfg.Run.Dir)
	return nil
}

// manifestPath is the variables manifest the multipliers are built for. A
// real run feeds the SavedModel, so it uses the model's own manifest; a dry
// run picks the manifest as graftrain plan does (model.variables first).
func manifestPath(cfg *config.Config, dryRun bool) string {
	if cfg.Model.Variables != "" && (dryRun || cfg.Model.Dir == "") {
		return cfg.Model.Variables
	}
	return stage.ManifestPath(cfg.Model.Dir)
}

// parseSteps reads --inject-nan's list of 1-based step calls.
func parseSteps(s string) (func(int64) bool, error) {
	if s == "" {
		return nil, nil
	}
	set := map[int64]bool{}
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("--inject-nan %q: want comma-separated step numbers >= 1", s)
		}
		set[n] = true
	}
	return func(c int64) bool { return set[c] }, nil
}

// openDatasets opens the training and validation splits.
var openDatasets = run.Datasets
