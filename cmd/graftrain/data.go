package main

import "github.com/spf13/cobra"

// newDataCmd returns nil until the command exists.
func newDataCmd(a *app) *cobra.Command { return nil }
