package main

import (
	"errors"
	"io"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/graftrain/graftrain/config"
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
func (a *app) loadConfig(cmd *cobra.Command) (*config.Config, error) {
	return config.Load(config.Sources{
		File:  a.configFile,
		Sets:  a.sets,
		Flags: cmd.Flags(),
		Viper: a.v,
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
