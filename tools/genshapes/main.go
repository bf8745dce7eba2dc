// Command genshapes writes graftrain's sample dataset, deterministically:
//
//	go run ./tools/genshapes [-out examples/shapes] [-seed 4] [-train 40] [-val 10]
//
// With the defaults it reproduces the committed examples/shapes byte for
// byte (a test in data/shapes checks this).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/graftrain/graftrain/data/shapes"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	def := shapes.Default()
	out := flag.String("out", "examples/shapes", "output folder")
	seed := flag.Uint64("seed", def.Seed, "random seed")
	train := flag.Int("train", def.Train, "training images")
	val := flag.Int("val", def.Val, "validation images")
	flag.Parse()
	cfg := shapes.Config{Seed: *seed, Train: *train, Val: *val}
	if err := shapes.Generate(ctx, *out, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "genshapes:", err)
		os.Exit(1)
	}
	fmt.Printf("genshapes: wrote %d training and %d validation images to %s\n", cfg.Train, cfg.Val, *out)
}
