package train

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/graftrain/graftrain/train/metrics"
)

// MetricsFile is the hook that appends one row per step (and one per
// validation pass and COCO evaluation) to metrics.jsonl. On start it
// drops rows past the resumed step, so a resumed run's file reads exactly
// as an uninterrupted run's. Rows are flushed every step; Sync makes them
// durable (the checkpoint hook calls it before a checkpoint becomes the
// latest).
type MetricsFile struct {
	Path   string
	DryRun bool

	f   *os.File
	w   *bufio.Writer
	enc *json.Encoder
}

// Hook returns the metrics hook.
func (m *MetricsFile) Hook() Hook {
	return Hook{
		Name:     "metrics",
		Priority: PriorityMetrics,
		OnStart: func(ctx context.Context, l *Loop) error {
			if err := TruncateRows(m.Path, l.State.Step); err != nil {
				return err
			}
			f, err := os.OpenFile(m.Path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
			if err != nil {
				return fmt.Errorf("open metrics file: %w", err)
			}
			m.f = f
			m.w = bufio.NewWriterSize(f, 64<<10)
			m.enc = json.NewEncoder(m.w)
			return nil
		},
		OnStep: func(ctx context.Context, l *Loop, info *StepInfo) error {
			var weights []float32
			if wn, ok := l.Runner.(WeightNormer); ok {
				weights = wn.VarWeightNorms()
			}
			if err := m.enc.Encode(TrainRow(l.Plan, info, weights, m.DryRun)); err != nil {
				return fmt.Errorf("write %s: %w", m.Path, err)
			}
			if info.Val != nil {
				if err := m.enc.Encode(ValRow(info, m.DryRun)); err != nil {
					return fmt.Errorf("write %s: %w", m.Path, err)
				}
			}
			if info.COCO != nil {
				if err := m.enc.Encode(COCORow(info, m.DryRun)); err != nil {
					return fmt.Errorf("write %s: %w", m.Path, err)
				}
			}
			if err := m.w.Flush(); err != nil {
				return fmt.Errorf("write %s: %w", m.Path, err)
			}
			return nil
		},
		OnEnd: func(ctx context.Context, l *Loop, runErr error) error {
			if m.f == nil {
				return nil
			}
			err := m.Sync()
			if cerr := m.f.Close(); err == nil {
				err = cerr
			}
			m.f = nil
			return err
		},
	}
}

// Sync flushes and fsyncs the rows written so far.
func (m *MetricsFile) Sync() error {
	if m.f == nil {
		return nil
	}
	if err := m.w.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", m.Path, err)
	}
	return m.f.Sync()
}

// TruncateRows rewrites a metrics.jsonl keeping only rows with step <= step
// (and dropping a torn last line). A missing file is fine.
func TruncateRows(path string, step int64) error {
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read metrics file: %w", err)
	}
	var keep bytes.Buffer
	changed := false
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 { // torn last line
			changed = true
			break
		}
		line := data[:i+1]
		data = data[i+1:]
		var r struct {
			Step int64 `json:"step"`
		}
		if json.Unmarshal(line, &r) != nil || r.Step > step {
			changed = true
			continue
		}
		keep.Write(line)
	}
	if !changed {
		return nil
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, keep.Bytes(), 0o644); err != nil {
		return fmt.Errorf("rewrite metrics file: %w", err)
	}
	return os.Rename(tmp, path)
}

// ReadRows reads a metrics.jsonl.
func ReadRows(path string) ([]metrics.Row, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rows []metrics.Row
	dec := json.NewDecoder(bytes.NewReader(data))
	for dec.More() {
		var r metrics.Row
		if err := dec.Decode(&r); err != nil {
			return rows, fmt.Errorf("%s row %d: %w", path, len(rows)+1, err)
		}
		rows = append(rows, r)
	}
	return rows, nil
}
