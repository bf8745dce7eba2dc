package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/graftrain/graftrain/eval"
)

// evalOptions are the flags of `graftrain eval`.
type evalOptions struct {
	gt, dt   string
	typ      string
	json     bool
	perClass bool
	workers  int
}

func newEvalCmd(a *app) *cobra.Command {
	var o evalOptions
	cmd := &cobra.Command{
		Use:   "eval --gt annotations.json --dt results.json [--type bbox|segm]",
		Short: "Compute COCO box or mask AP of a results file, as pycocotools does",
		Long: `eval reads COCO ground truth and a COCO results file and prints the twelve
COCOeval summary numbers in pycocotools' format (--json: full precision).
--per-class adds the AP of every category.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd, a) },
	}
	f := cmd.Flags()
	f.StringVar(&o.gt, "gt", "", "COCO ground-truth annotations (instances JSON)")
	f.StringVar(&o.dt, "dt", "", "COCO results file (JSON array of detections)")
	f.StringVar(&o.typ, "type", "bbox", "what to evaluate: bbox or segm")
	f.BoolVar(&o.json, "json", false, `print {"type", "stats", "per_class"} as JSON with full precision`)
	f.BoolVar(&o.perClass, "per-class", false, "also print the AP of every category")
	f.IntVar(&o.workers, "workers", 0, "goroutines evaluating images (0: one per CPU); results do not depend on it")
	return cmd
}

func (o *evalOptions) validate() (eval.IoUType, error) {
	var errs []error
	if o.gt == "" {
		errs = append(errs, errors.New("--gt is required: the COCO annotations file"))
	}
	if o.dt == "" {
		errs = append(errs, errors.New("--dt is required: the COCO results file"))
	}
	typ, err := eval.ParseIoUType(o.typ)
	if err != nil {
		errs = append(errs, fmt.Errorf("--type: %w", err))
	}
	return typ, errors.Join(errs...)
}

func (o *evalOptions) run(cmd *cobra.Command, a *app) error {
	typ, err := o.validate()
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	gt, err := eval.LoadGroundTruth(cmd.Context(), o.gt)
	if err != nil {
		return err
	}
	dt, err := eval.LoadResults(o.dt, gt)
	if err != nil {
		return err
	}
	opt := eval.Options{Workers: o.workers}
	bar := newProgressBar(a.errOut, "evaluating images")
	if bar != nil {
		opt.Progress = func(done, total int) {
			bar.ChangeMax(total)
			_ = bar.Set(done)
		}
	}
	e, err := eval.Evaluate(cmd.Context(), gt, dt, eval.DefaultParams(typ), opt)
	if bar != nil {
		_ = bar.Finish()
	}
	if err != nil {
		return err
	}
	var cats []eval.CategoryResult
	if o.perClass || o.json {
		cats = e.PerCategory(gt)
	}
	if o.json {
		enc := json.NewEncoder(a.out)
		enc.SetIndent("", "  ")
		return enc.Encode(eval.NewReport(e, cats))
	}
	if err := e.WriteSummary(a.out); err != nil {
		return err
	}
	if o.perClass {
		fmt.Fprintln(a.out)
		return eval.WritePerCategory(a.out, cats)
	}
	return nil
}

// newProgressBar returns a bar drawn on w when w is a terminal, else nil.
func newProgressBar(w io.Writer, what string) *progressbar.ProgressBar {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return progressbar.NewOptions(-1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(),
		progressbar.OptionThrottle(100_000_000),
		progressbar.OptionClearOnFinish(),
	)
}
