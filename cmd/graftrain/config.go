package main

import "github.com/spf13/cobra"

// newConfigCmd returns nil until the command exists.
func newConfigCmd(a *app) *cobra.Command { return nil }
