package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/graftrain/graftrain/checkpoints"
	"github.com/graftrain/graftrain/train/run"
)

func newCheckpointsCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "checkpoints",
		Short: "List a run's checkpoints and compare two checkpoints",
	}
	cmd.AddCommand(newCheckpointsListCmd(a), newCheckpointsDiffCmd(a))
	return cmd
}

func newCheckpointsListCmd(a *app) *cobra.Command {
	var verify, asJSON bool
	cmd := &cobra.Command{
		Use:   "list RUN",
		Short: "List the complete checkpoints of a run directory, newest last",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			mgr, err := checkpoints.Open(filepath.Join(args[0], run.CkptDir), checkpoints.Options{})
			if err != nil {
				return err
			}
			all, err := mgr.List()
			if err != nil {
				return err
			}
			ptr, _ := mgr.ReadPointer()
			type item struct {
				checkpoints.Meta
				Latest bool   `json:"latest"`
				Best   bool   `json:"best"`
				Status string `json:"status,omitempty"`
			}
			items := make([]item, len(all))
			for i, m := range all {
				items[i] = item{Meta: m, Latest: m.Name == ptr.Latest}
				for _, b := range ptr.Best {
					items[i].Best = items[i].Best || b == m.Name
				}
				if verify {
					items[i].Status = "ok"
					if err := mgr.Verify(cmd.Context(), m); err != nil {
						items[i].Status = "damaged: " + err.Error()
					}
				}
			}
			if asJSON {
				enc := json.NewEncoder(a.out)
				enc.SetIndent("", "  ")
				return enc.Encode(items)
			}
			if len(items) == 0 {
				fmt.Fprintf(a.out, "no complete checkpoint in %s\n", mgr.Dir())
				return nil
			}
			tw := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tSTEP\tSTAGE\tEPOCH\tTOTAL_LOSS\tVAL_TOTAL_LOSS\tSIZE\tTIME\tMARK")
			for _, it := range items {
				var size int64
				for _, f := range it.Files {
					size += f.Size
				}
				var marks []string
				if it.Latest {
					marks = append(marks, "latest")
				}
				if it.Best {
					marks = append(marks, "best")
				}
				if it.DryRun {
					marks = append(marks, "dry-run")
				}
				if it.Status != "" {
					marks = append(marks, it.Status)
				}
				fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", it.Name, it.Step, it.Stage, it.Epoch,
					metric(it.Metrics, "total_loss"), metric(it.Metrics, "val_total_loss"), humanBytes(size), it.Time, strings.Join(marks, ","))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&verify, "verify", false, "check every file's size and every tensor's CRC32C")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newCheckpointsDiffCmd(a *app) *cobra.Command {
	var all, asJSON bool
	cmd := &cobra.Command{
		Use:   "diff A B",
		Short: "Compare two checkpoints variable by variable (which changed, and by how much)",
		Long: `Compare two TensorFlow checkpoints given by prefix (runs/x/checkpoints/ckpt-100),
index file or metadata file. Values are compared bit by bit: "same" proves a
variable stayed frozen between the two.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := checkpoints.Diff(ckptPrefix(args[0]), ckptPrefix(args[1]))
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(a.out)
				enc.SetIndent("", "  ")
				return enc.Encode(d)
			}
			tw := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "CHANGE\tKEY\tDTYPE\tSHAPE\tL2\tMAX_ABS\tRELATIVE")
			for _, v := range d {
				if v.Change == checkpoints.Same && !all {
					continue
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%.4g\t%.4g\t%.4g\n", v.Change, v.Key, v.DType, v.Shape, v.L2, v.MaxAbs, v.Relative)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			s := checkpoints.Summary(d)
			fmt.Fprintf(a.out, "%d same, %d changed, %d added, %d removed, %d reshaped\n",
				s[checkpoints.Same], s[checkpoints.Changed], s[checkpoints.Added], s[checkpoints.Removed], s[checkpoints.Reshape])
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "also list the variables that are the same")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// ckptPrefix accepts a prefix, an .index file or a ckpt-STEP.json.
func ckptPrefix(p string) string {
	for _, s := range []string{".index", ".json"} {
		p = strings.TrimSuffix(p, s)
	}
	return p
}

func metric(m map[string]float64, k string) string {
	v, ok := m[k]
	if !ok {
		return "-"
	}
	return fmt.Sprintf("%.4g", v)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
