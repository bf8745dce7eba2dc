package main

import "github.com/spf13/cobra"

// newVersionCmd returns nil until the command exists.
func newVersionCmd(a *app) *cobra.Command { return nil }
