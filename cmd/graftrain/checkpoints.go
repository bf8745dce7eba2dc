package main

import "github.com/spf13/cobra"

// newCheckpointsCmd returns nil until the command exists.
func newCheckpointsCmd(a *app) *cobra.Command { return nil }
