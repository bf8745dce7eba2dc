package diagnose

import (
	"github.com/graftrain/graftrain/config"
	"github.com/graftrain/graftrain/train/metrics"
)

// Monitor runs the detectors live over a rolling window of the rows the
// training loop records: every Every steps it diagnoses the last Window
// training rows (and the validation rows among them), reports each
// finding the first time it appears, and feeds the current stage's
// plateau to the policy.
type Monitor struct {
	Window int
	Every  int64
	Th     Thresholds
	Policy *Policy

	train, val []metrics.Row
	start      []metrics.Row // the run's first training rows
	seen       map[string]bool
	floor      int64 // rows up to this step are ignored (before the last action)
}

// NewMonitor builds the monitor of config's diagnose section. It checks
// every quarter window (at least every step, at most every 50 steps).
func NewMonitor(c config.Diagnose) (*Monitor, error) {
	p, err := NewPolicy(c.OnPlateau, c.Factor, c.Patience, c.Cooldown)
	if err != nil {
		return nil, err
	}
	w := c.Window
	if w <= 0 {
		w = 200
	}
	th := DefaultThresholds(w)
	th.MinPoints = min(th.MinPoints, max(w/2, 10))
	return &Monitor{Window: w, Every: int64(min(max(w/4, 1), 50)), Th: th, Policy: p, seen: map[string]bool{}}, nil
}

// Observe records one metrics row. After a training row on a check step
// it returns the findings not reported before and the policy's action.
func (m *Monitor) Observe(row metrics.Row) ([]Finding, Action) {
	switch row.Kind {
	case metrics.KindVal:
		m.val = append(m.val, row)
		return nil, Action{}
	case metrics.KindTrain, "":
	default:
		return nil, Action{}
	}
	m.train = append(m.train, row)
	if len(m.start) < 10 {
		m.start = append(m.start, row)
	}
	if len(m.train) > 2*m.Window {
		m.train = append(m.train[:0], m.train[len(m.train)-m.Window:]...)
		first := m.train[0].Step
		k := 0
		for k < len(m.val) && m.val[k].Step < first {
			k++
		}
		m.val = append(m.val[:0], m.val[k:]...)
	}
	if m.Every <= 0 || row.Step%m.Every != 0 {
		return nil, Action{}
	}
	r := m.window()
	fs := Diagnose(r, m.Th)
	var fresh []Finding
	plateau := false
	for _, f := range fs {
		if f.ID == IDLossPlateau && f.Stage == row.StageIndex && f.Subject == "total_loss" {
			plateau = true
		}
		if !m.seen[f.Key()] {
			m.seen[f.Key()] = true
			fresh = append(fresh, f)
		}
	}
	a := m.Policy.Observe(row.Step, row.StageIndex, plateau)
	if a.Kind != "" && a.Kind != PolicyWarn {
		// What comes after the action is a new regime: judge it alone.
		m.floor = row.Step
		delete(m.seen, (&Finding{ID: IDLossPlateau, Stage: row.StageIndex, Subject: "total_loss"}).Key())
	}
	return fresh, a
}

// window is the Run the detectors see: the last Window training rows
// after the last action, and the validation rows among them.
func (m *Monitor) window() *Run {
	tr := m.train[max(0, len(m.train)-m.Window):]
	var rows []metrics.Row
	for _, r := range tr {
		if r.Step > m.floor {
			rows = append(rows, r)
		}
	}
	if len(rows) > 0 {
		first := rows[0].Step
		for _, v := range m.val {
			if v.Step >= first {
				rows = append(rows, v)
			}
		}
	}
	r := NewRun(rows)
	r.Start = m.start
	return r
}
