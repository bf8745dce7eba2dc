package main

import "github.com/spf13/cobra"

// newExportCmd returns nil until the command exists.
func newExportCmd(a *app) *cobra.Command { return nil }
