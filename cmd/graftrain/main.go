// Command graftrain trains Mask R-CNN SavedModels from Go. This package is
// wiring only: one file per command, each calling library packages.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCmd(newApp(os.Stdout, os.Stderr)).ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "graftrain:", err)
		stop()
		os.Exit(exitCode(err))
	}
}
