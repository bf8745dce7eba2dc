package main

import "github.com/spf13/cobra"

// newTrainCmd returns nil until the command exists.
func newTrainCmd(a *app) *cobra.Command { return nil }
