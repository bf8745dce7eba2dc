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
	// Devices are what a TensorFlow session with the config's device.*
	// settings sees (TensorFlow builds only).
	Devices      []deviceInfo `json:"devices,omitempty"`
	DevicesError string       `json:"devices_error,omitempty"`
}

// deviceInfo is one device as TensorFlow lists it; memory_limit_bytes is
// -1 when TensorFlow sets none.
type deviceInfo struct {
	Name             string `json:"name"`
	Type             string `json:"type"`
	MemoryLimitBytes int64  `json:"memory_limit_bytes"`
}

func (d deviceInfo) String() string {
	s := d.Name + " (" + d.Type
	if d.MemoryLimitBytes >= 0 {
		s += fmt.Sprintf(", %.1f GiB", float64(d.MemoryLimitBytes)/(1<<30))
	}
	return s + ")"
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
		Short: "Print graftrain's version, the Go version, the TensorFlow it was built with and the devices TensorFlow sees",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := currentVersion()
			if v.HasTensorFlow {
				// The device settings come from the config, as train uses
				// them; a config that does not load still gets a version.
				cfg, err := a.loadConfig(cmd)
				if err == nil {
					v.Devices, err = tensorflowDevices(cfg.Device)
				}
				if err != nil {
					v.DevicesError = err.Error()
				}
			}
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
			if _, err := fmt.Fprintf(a.out, "graftrain  %s%s\ngo         %s %s\ntensorflow %s\n", v.Version, rev, v.Go, v.Platform, tf); err != nil {
				return err
			}
			for i, d := range v.Devices {
				label := "          "
				if i == 0 {
					label = "devices   "
				}
				if _, err := fmt.Fprintf(a.out, "%s %s\n", label, d); err != nil {
					return err
				}
			}
			if v.DevicesError != "" {
				_, err := fmt.Fprintf(a.out, "devices    unavailable: %s\n", v.DevicesError)
				return err
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}
