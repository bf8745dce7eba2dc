package main

import (
	"fmt"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the scripts run this binary's main as "graftrain".
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){"graftrain": main})
}

// TestScripts runs the end-to-end command-line scripts in testdata/script
// (txtar files: commands, expected output and the files they use).
// Condition [tensorflow] holds in a binary built with the tag.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Condition: func(cond string) (bool, error) {
			if cond == "tensorflow" {
				_, ok := tensorflowVersion()
				return ok, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
	})
}
