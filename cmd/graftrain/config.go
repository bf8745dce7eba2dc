package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newConfigCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Show or validate the effective configuration",
		Long: `The effective configuration layers, lowest first: the embedded defaults,
the --config file, GRAFTRAIN_* environment variables, command flags bound to
keys, and --set key=value. See docs/config.md.`,
	}
	var sources bool
	show := &cobra.Command{
		Use:   "show",
		Short: "Print the effective configuration as YAML",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.loadConfig(cmd)
			if err != nil {
				return err
			}
			out, err := cfg.YAML(sources)
			if err != nil {
				return err
			}
			_, err = a.out.Write(out)
			return err
		},
	}
	show.Flags().BoolVar(&sources, "sources", false, "comment each value with the layer it came from")
	validate := &cobra.Command{
		Use:   "validate",
		Short: "Check the effective configuration; exit 1 listing every problem",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.loadConfig(cmd)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(a.out, "configuration is valid: %d stages, %d groups\n", len(cfg.Stages), len(cfg.Groups))
			return err
		},
	}
	cmd.AddCommand(show, validate)
	return cmd
}
