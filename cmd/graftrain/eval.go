package main

import "github.com/spf13/cobra"

// newEvalCmd returns nil until the command exists.
func newEvalCmd(a *app) *cobra.Command { return nil }
