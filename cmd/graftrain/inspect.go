package main

import "github.com/spf13/cobra"

// newInspectCmd returns nil until the command exists.
func newInspectCmd(a *app) *cobra.Command { return nil }
