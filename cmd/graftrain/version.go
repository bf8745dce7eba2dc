package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is the release version, set at build time with
// -ldflags "-X main.version=v1.2.3"; empty takes the module version from
// the build info ("(devel)" for a build from a checkout).
var version = ""

// noTensorFlow is what version says of a binary built without the tag.
const noTensorFlow = "built without TensorFlow (build with -tags tensorflow, see README)"

// buildVersion describes this binary.
type buildVersion struct {
	Version       string `json:"version"`
	Commit        string `json:"commit,omitempty"`
	Modified      bool   `json:"modified,omitempty"`
	Go            string `json:"go"`
	Platform      string `json:"platform"`
	HasTensorFlow bool   `json:"has_tensorflow"`
	TensorFlow    string `json:"tensorflow,omitempty"`
	Graft         string `json:"graft,omitempty"`
}

func currentVersion() buildVersion {
	v := buildVersion{
		Version:  version,
		Go:       runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH,
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v.Version == "" {
			v.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				v.Commit = s.Value
			case "vcs.modified":
				v.Modified = s.Value == "true"
			}
		}
		for _, d := range bi.Deps {
			if d.Path == "github.com/wamuir/graft" {
				v.Graft = d.Version
			}
		}
	}
	if v.Version == "" {
		v.Version = "(devel)"
	}
	v.TensorFlow, v.HasTensorFlow = tensorflowVersion()
	return v
}

func newVersionCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print graftrain's version, the Go version and the TensorFlow it was built with",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := currentVersion()
			if asJSON {
				enc := json.NewEncoder(a.out)
				enc.SetIndent("", "  ")
				return enc.Encode(v)
			}
			rev := ""
			if v.Commit != "" {
				rev = " (commit " + v.Commit
				if v.Modified {
					rev += ", modified"
				}
				rev += ")"
			}
			tf := noTensorFlow
			if v.HasTensorFlow {
				tf = "TensorFlow " + v.TensorFlow
				if v.Graft != "" {
					tf += " (graft " + v.Graft + ")"
				}
			}
			_, err := fmt.Fprintf(a.out, "graftrain  %s%s\ngo         %s %s\ntensorflow %s\n", v.Version, rev, v.Go, v.Platform, tf)
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}
