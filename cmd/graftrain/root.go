package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/graftrain/graftrain/config"
	"github.com/graftrain/graftrain/logs"
)

// app carries what every command shares: output streams, the global flags
// and the one viper instance the config is layered in.
type app struct {
	out, errOut io.Writer
	v           *viper.Viper

	configFile string
	sets       []string
	logLevel   string
	logFormat  string

	// cfg is the last config loadConfig returned; newLogger reads its
	// log settings.
	cfg *config.Config
	// environ replaces os.Environ in tests; nil reads the process's.
	environ []string
	// terminal overrides the terminal check of errOut in tests.
	terminal *bool
}

func newApp(out, errOut io.Writer) *app {
	return &app{out: out, errOut: errOut, v: viper.New()}
}

func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:           "graftrain",
		Short:         "Train Mask R-CNN SavedModels from Go, stage by stage",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(a.out)
	root.SetErr(a.errOut)
	pf := root.PersistentFlags()
	pf.StringVar(&a.configFile, "config", "", "config file (YAML, TOML or JSON)")
	pf.StringArrayVar(&a.sets, "set", nil, "override a config key, key=value (repeatable; values parsed as YAML)")
	pf.StringVar(&a.logLevel, "log-level", "", "debug | info | warn | error (config log.level)")
	pf.StringVar(&a.logFormat, "log-format", "", "auto | console | json (config log.format)")
	bindFlag(root, "log-level", "log.level")
	bindFlag(root, "log-format", "log.format")

	for _, mk := range []func(*app) *cobra.Command{
		newVersionCmd,
		newConfigCmd,
		newInspectCmd,
		newPlanCmd,
		newDataCmd,
		newTrainCmd,
		newCheckpointsCmd,
		newExportCmd,
		newEvalCmd,
		newDiagnoseCmd,
	} {
		if c := mk(a); c != nil {
			root.AddCommand(c)
		}
	}
	return root
}

// loadConfig returns the effective config: embedded defaults < --config
// file < GRAFTRAIN_* environment < flags bound to keys < --set.
// A bad config is an *invalidConfigError listing every problem.
func (a *app) loadConfig(cmd *cobra.Command) (*config.Config, error) {
	cfg, err := config.Load(config.Sources{
		File:    a.configFile,
		Sets:    a.sets,
		Flags:   cmd.Flags(),
		Viper:   a.v,
		Environ: a.environ,
	})
	if err != nil {
		if len(config.FieldErrors(err)) > 0 {
			return nil, &invalidConfigError{err}
		}
		return nil, err
	}
	a.cfg = cfg
	return cfg, nil
}

// invalidConfigError prints a config's problems one a line.
type invalidConfigError struct{ err error }

func (e *invalidConfigError) Error() string {
	n := len(config.FieldErrors(e.err))
	noun := "problem"
	if n != 1 {
		noun = "problems"
	}
	return fmt.Sprintf("invalid configuration (%d %s):\n  %s", n, noun, strings.ReplaceAll(e.err.Error(), "\n", "\n  "))
}

func (e *invalidConfigError) Unwrap() error { return e.err }

// bindFlag binds a command's flag to a config key: when the flag is given,
// it sets the key, above the environment and below --set. The flag and the
// key must exist; a wrong name is a wiring bug caught by the CLI tests.
func bindFlag(cmd *cobra.Command, flagName, key string) {
	f := cmd.Flags().Lookup(flagName)
	if f == nil {
		f = cmd.PersistentFlags().Lookup(flagName)
	}
	if f == nil || !config.IsKey(key) {
		panic(fmt.Sprintf("bindFlag %s: flag --%s or key %q does not exist", cmd.Name(), flagName, key))
	}
	if f.Annotations == nil {
		f.Annotations = map[string][]string{}
	}
	f.Annotations[config.FlagKeyAnnotation] = []string{key}
}

// newLogger returns the command's logger and its close function: console
// or JSON on the error stream per log.format (--log-format), at log.level
// (--log-level), and with runDir set, a copy of every event in
// runDir/log.jsonl. Call it after loadConfig so the config's log settings
// apply; before, the flags alone do.
func (a *app) newLogger(runDir string) (zerolog.Logger, func() error, error) {
	level, format := a.logLevel, a.logFormat
	if a.cfg != nil {
		level, format = a.cfg.Log.Level, a.cfg.Log.Format
	}
	return logs.New(logs.Options{
		Level:    level,
		Format:   format,
		Out:      a.errOut,
		Terminal: a.terminal,
		RunDir:   runDir,
	})
}

// exitError carries a specific exit status (e.g. 2 for an unmet contract).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}
