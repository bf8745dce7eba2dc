package main

import "github.com/spf13/cobra"

// newPlanCmd returns nil until the command exists.
func newPlanCmd(a *app) *cobra.Command { return nil }
