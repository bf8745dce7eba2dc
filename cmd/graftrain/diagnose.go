package main

import "github.com/spf13/cobra"

// newDiagnoseCmd returns nil until the command exists.
func newDiagnoseCmd(a *app) *cobra.Command { return nil }
