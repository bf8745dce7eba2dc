package diagnose

import (
	"slices"
	"testing"

	"github.com/graftrain/graftrain/config"
)

func TestPolicyPatienceAndCooldown(t *testing.T) {
	type obs struct {
		stage   int
		plateau bool
	}
	T, F := true, false
	for _, c := range []struct {
		name               string
		mode               string
		patience, cooldown int64
		seq                []obs // step i+1
		want               []int64
	}{
		{"patience then cooldown", PolicyReduceLR, 3, 2,
			[]obs{{0, F}, {0, T}, {0, T}, {0, T}, {0, T}, {0, T}, {0, T}, {0, F}, {0, T}, {0, T}, {0, T}, {0, T}},
			[]int64{5, 12}},
		{"an interruption restarts patience", PolicyStop, 2, 0,
			[]obs{{0, T}, {0, T}, {0, F}, {0, T}, {0, T}, {0, T}},
			[]int64{6}},
		{"a new stage starts afresh", PolicyNextStage, 2, 10,
			[]obs{{0, T}, {0, T}, {0, T}, {1, T}, {1, T}, {1, T}},
			[]int64{3, 6}},
		{"patience 0 acts at once", PolicyWarn, 0, 0,
			[]obs{{0, F}, {0, T}},
			[]int64{2}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := NewPolicy(c.mode, 0.5, c.patience, c.cooldown)
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for i, o := range c.seq {
				a := p.Observe(int64(i+1), o.stage, o.plateau)
				if a.Kind == "" {
					continue
				}
				if a.Kind != c.mode || (c.mode == PolicyReduceLR) != (a.Factor == 0.5) {
					t.Errorf("step %d: action %+v, want %s", i+1, a, c.mode)
				}
				got = append(got, a.Step)
			}
			if !slices.Equal(got, c.want) {
				t.Fatalf("actions at steps %v, want %v", got, c.want)
			}
		})
	}
}

func TestPolicyRejectsBadSettings(t *testing.T) {
	for _, c := range []struct {
		mode   string
		factor float64
		p, cd  int64
	}{{"sometimes", 0.1, 1, 1}, {PolicyReduceLR, 1.5, 1, 1}, {PolicyReduceLR, 0, 1, 1}, {PolicyStop, 0.1, -1, 0}} {
		if _, err := NewPolicy(c.mode, c.factor, c.p, c.cd); err == nil {
			t.Errorf("NewPolicy(%q, %v, %d, %d): no error", c.mode, c.factor, c.p, c.cd)
		}
	}
}

// The monitor over the hand-made flat run: the plateau is reported once,
// and reduce_lr acts after the patience and again only after the cooldown.
func TestMonitorOnPlateau(t *testing.T) {
	rows := loadTestdata(t, "loss_plateau").Train
	m, err := NewMonitor(config.Diagnose{Window: 100, OnPlateau: PolicyReduceLR, Factor: 0.1, Patience: 50, Cooldown: 60})
	if err != nil {
		t.Fatal(err)
	}
	var reported int
	var acts []int64
	for _, r := range rows {
		fs, a := m.Observe(r)
		for _, f := range fs {
			if f.ID == IDLossPlateau {
				reported++
			}
		}
		if a.Kind != "" {
			acts = append(acts, a.Step)
		}
	}
	// Checks every 25 steps; the plateau needs 50 rows (MinPoints) to show:
	// first seen at 50, acted on at 100 (patience 50). The window then
	// restarts after step 100 and the cooldown runs to 160: seen again at
	// 175 (75 new rows), acted on at 225.
	if want := []int64{100, 225}; !slices.Equal(acts, want) {
		t.Fatalf("reduce_lr at steps %v, want %v", acts, want)
	}
	if reported != 3 {
		t.Fatalf("plateau reported %d times, want once per regime: at 50, 175 and 300", reported)
	}
}

func TestMonitorHealthyIsQuiet(t *testing.T) {
	m, err := NewMonitor(config.Diagnose{Window: 100, OnPlateau: PolicyStop, Factor: 0.1, Patience: 50, Cooldown: 60})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range loadTestdata(t, "healthy").Train {
		if fs, a := m.Observe(r); len(fs) > 0 || a.Kind != "" {
			t.Fatalf("step %d: findings %v, action %v on a healthy run", r.Step, fs, a)
		}
	}
}
