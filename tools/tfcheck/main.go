// Command tfcheck type-checks a module's packages as they build with the
// tensorflow build tag, on a machine without libtensorflow or its headers.
//
//	go run ./tools/tfcheck [-tags tensorflow] [-tests=true] [packages]
//
// It lists packages with `go list` (which selects files by build tags but,
// without -compiled, never runs cgo), type-checks the main module's packages
// and their tests from source with go/types, and reads non-standard
// dependencies from source too, with Config.FakeImportC so that cgo files
// (graft's tensorflow package) type-check without C headers. The standard
// library comes from the compiler's export data. Errors inside dependencies
// (FakeImportC leaves C types invalid there) are ignored: only errors in the
// main module's files are reported. The exit status is 1 when there is at
// least one, 2 when the check could not run.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tfcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tags := fs.String("tags", "tensorflow", "comma-separated build tags to check with")
	tests := fs.Bool("tests", true, "check _test.go files too")
	verbose := fs.Bool("v", false, "list the packages checked")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tfcheck [-tags tensorflow] [-tests=true] [-v] [packages]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	patterns := fs.Args()
	if len(patterns) == 0 {
		patterns = []string{"./..."}
	}
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(stderr, "tfcheck:", err)
		return 2
	}
	c := NewChecker()
	res, err := c.Check(ctx, Options{Dir: wd, Patterns: patterns, Tags: splitTags(*tags), Tests: *tests})
	if err != nil {
		fmt.Fprintln(stderr, "tfcheck:", err)
		return 2
	}
	if *verbose {
		for _, p := range res.Packages {
			fmt.Fprintln(stderr, "checked", p)
		}
	}
	for _, p := range res.Problems {
		fmt.Fprintln(stdout, p.Relative(wd))
	}
	if len(res.Problems) > 0 {
		fmt.Fprintf(stderr, "tfcheck: %d type error(s) with tags %q\n", len(res.Problems), *tags)
		return 1
	}
	fmt.Fprintf(stderr, "tfcheck: %d package(s) type-check with tags %q\n", len(res.Packages), *tags)
	return 0
}

func splitTags(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
}
