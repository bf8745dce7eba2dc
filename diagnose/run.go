package diagnose

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/graftrain/graftrain/checkpoints"
	"github.com/graftrain/graftrain/config"
	"github.com/graftrain/graftrain/train/metrics"
)

// Files diagnose reads in a run directory.
const (
	MetricsFile   = "metrics.jsonl"
	ConfigFile    = "config.yaml"
	DataCheckFile = "data_check.json" // `graftrain data check --json` output
	DryRunFile    = "DRY_RUN"
	CkptDir       = "checkpoints"
)

// Run is what the detectors look at: a run's rows split by kind, and
// whatever else the run directory holds.
type Run struct {
	Dir    string
	Train  []metrics.Row // by step
	Val    []metrics.Row // by step
	Config *config.Config
	// DataCheck is the data check summary, nil when absent.
	DataCheck *DataCheck
	// CheckpointDiffs compare consecutive checkpoints, when there are any.
	CheckpointDiffs []CheckpointDiff
	DryRun          bool
	// Start holds the first training rows of the run when Train is only a
	// window of it (live diagnosis): "where the run began" comes from them.
	Start []metrics.Row
	// Notes say what could not be read (a missing config, a bad checkpoint);
	// diagnosis goes on without it.
	Notes []string
}

// CheckpointDiff is what changed between two consecutive checkpoints.
type CheckpointDiff struct {
	From, To int64 // steps
	Vars     []checkpoints.VarDiff
}

// DataCheck holds what the detectors use of a `graftrain data check
// --json` report (data/check.Report, whose JSON names these fields). Only
// the numbers are read, so the training loop, which runs the detectors
// live, does not depend on the data checker.
type DataCheck struct {
	Instances int `json:"instances"` // non-crowd objects
	// Share of objects whose best anchor IoU is under 0.3, 0.5, 0.7.
	BestIoUUnder [3]float64 `json:"best_anchor_iou_under_0.3_0.5_0.7"`
	Tiny         int        `json:"tiny_objects"`
}

// Stage is one stage's contiguous rows of a run.
type Stage struct {
	Index int
	Name  string
	Train []metrics.Row
	Val   []metrics.Row
}

// ReadRows reads metrics rows from r; a torn last line (a run still
// writing) is ignored, any other bad line is an error naming its line.
func ReadRows(r io.Reader) ([]metrics.Row, error) {
	var rows []metrics.Row
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	line := 0
	var pendingErr error
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		if pendingErr != nil {
			return nil, pendingErr
		}
		var row metrics.Row
		if err := json.Unmarshal(b, &row); err != nil {
			pendingErr = fmt.Errorf("line %d: %w", line, err)
			continue
		}
		rows = append(rows, row)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return rows, nil
}

// NewRun splits rows into a Run (rows of kind eval are kept out).
func NewRun(rows []metrics.Row) *Run {
	r := &Run{}
	for _, row := range rows {
		switch row.Kind {
		case metrics.KindTrain, "":
			r.Train = append(r.Train, row)
			if row.DryRun {
				r.DryRun = true
			}
		case metrics.KindVal:
			r.Val = append(r.Val, row)
		}
	}
	byStep := func(a, b metrics.Row) int { return int(a.Step - b.Step) }
	slices.SortStableFunc(r.Train, byStep)
	slices.SortStableFunc(r.Val, byStep)
	return r
}

// Load reads a run directory: metrics.jsonl (required), config.yaml,
// data_check.json and the checkpoints when present.
func Load(dir string) (*Run, error) {
	path := filepath.Join(dir, MetricsFile)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read the run's metrics: %w (is %s a run directory made by graftrain train?)", err, dir)
	}
	rows, err := ReadRows(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	r := NewRun(rows)
	r.Dir = dir
	if _, err := os.Stat(filepath.Join(dir, DryRunFile)); err == nil {
		r.DryRun = true
	}
	if cp := filepath.Join(dir, ConfigFile); exists(cp) {
		cfg, err := config.Load(config.Sources{File: cp, Environ: []string{}})
		if err != nil {
			r.Notes = append(r.Notes, fmt.Sprintf("config.yaml not used: %v", err))
		} else {
			r.Config = cfg
		}
	} else {
		r.Notes = append(r.Notes, "no config.yaml: fixes are written from the metrics alone")
	}
	if dp := filepath.Join(dir, DataCheckFile); exists(dp) {
		b, err := os.ReadFile(dp)
		var rep DataCheck
		if err == nil {
			err = json.Unmarshal(b, &rep)
		}
		if err != nil {
			r.Notes = append(r.Notes, fmt.Sprintf("%s not used: %v", DataCheckFile, err))
		} else {
			r.DataCheck = &rep
		}
	}
	diffs, err := diffCheckpoints(filepath.Join(dir, CkptDir))
	if err != nil {
		r.Notes = append(r.Notes, fmt.Sprintf("checkpoints not compared: %v", err))
	}
	r.CheckpointDiffs = diffs
	return r, nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// diffCheckpoints compares each pair of consecutive complete checkpoints.
func diffCheckpoints(dir string) ([]CheckpointDiff, error) {
	if !exists(dir) {
		return nil, nil
	}
	mgr, err := checkpoints.Open(dir, checkpoints.Options{})
	if err != nil {
		return nil, err
	}
	all, err := mgr.List()
	if err != nil {
		return nil, err
	}
	var out []CheckpointDiff
	var errs []error
	for i := 1; i < len(all); i++ {
		a, b := all[i-1], all[i]
		d, err := checkpoints.Diff(mgr.Prefix(a.Name), mgr.Prefix(b.Name))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s → %s: %w", a.Name, b.Name, err))
			continue
		}
		out = append(out, CheckpointDiff{From: a.Step, To: b.Step, Vars: d})
	}
	return out, errors.Join(errs...)
}

// Stages splits the run into its stages in step order.
func (r *Run) Stages() []Stage {
	var out []Stage
	for _, row := range r.Train {
		if len(out) == 0 || out[len(out)-1].Index != row.StageIndex {
			out = append(out, Stage{Index: row.StageIndex, Name: row.Stage})
		}
		s := &out[len(out)-1]
		s.Train = append(s.Train, row)
	}
	for _, v := range r.Val {
		for i := range out {
			if out[i].Index == v.StageIndex {
				out[i].Val = append(out[i].Val, v)
			}
		}
	}
	return out
}

// startRows are the first training rows of the run.
func (r *Run) startRows() []metrics.Row {
	if len(r.Start) > 0 {
		return r.Start
	}
	return r.Train[:min(len(r.Train), 10)]
}

// stageConfig returns the config of stage i, nil without a config.
func (r *Run) stageConfig(i int) *config.Stage {
	if r.Config == nil || i < 0 || i >= len(r.Config.Stages) {
		return nil
	}
	return &r.Config.Stages[i]
}
