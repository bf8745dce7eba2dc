package diagnose

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/graftrain/graftrain/train/metrics"
)

// The hand-made metrics files in testdata each show one problem that the
// stand-in model cannot produce (it has no RPN statistics and no data
// loader cost) or that is easiest to state exactly.
func TestHandMadeMetrics(t *testing.T) {
	for _, c := range []struct {
		file, id, subject string
		severity          Severity
		fixKeys           []string
		number            string
		min, max          float64
	}{
		{"rpn_starved", IDRPNStarved, "rpn", Error, []string{"stages.0.rpn_min_proposal_size", "model.rpn_anchor_scales"}, "positive_anchors", 1.5, 2.5},
		{"data_starvation", IDDataStarvation, "", Error, []string{"data.prefetch"}, "median_share", 0.7, 0.8},
		{"heads_no_positive_rois", IDHeadsNoPositives, "", Critical, nil, "fraction", 1, 1},
		{"frozen_group_moved", IDFrozenGroupMoved, "res5", Critical, nil, "steps", 61, 61},
		{"non_finite_losses", IDNonFiniteLosses, "", Error, []string{"stages.0.learning_rate"}, "longest_run", 3, 3},
		{"overfitting", IDOverfitting, "", Warning, []string{"stages.0.steps"}, "best_step", 120, 120},
		{"loss_plateau", IDLossPlateau, "total_loss", Warning, []string{"stages.0.learning_rate"}, "relative_change", -0.05, 0.05},
		{"component_plateau", IDLossPlateau, "mrcnn_class_loss", Info, []string{"stages.0.loss_weights.mrcnn_class_loss"}, "share", 0.2, 0.5},
		{"vanishing_gradients", IDVanishingGradients, "res5", Warning, []string{"stages.0.lr_multipliers.res5"}, "ratio", 1e-10, 1e-8},
	} {
		t.Run(c.file, func(t *testing.T) {
			r := loadTestdata(t, c.file)
			fs := Diagnose(r, DefaultThresholds(0))
			if len(fs) == 0 {
				t.Fatalf("no finding, want %s", c.id)
			}
			f := fs[0]
			if f.ID != c.id || f.Subject != c.subject || f.Severity != c.severity {
				for _, g := range fs {
					t.Logf("%s %s %s: %v", g.Severity, g.ID, g.Subject, g.Evidence)
				}
				t.Fatalf("first finding %s %s %q, want %s %s %q", f.Severity, f.ID, f.Subject, c.severity, c.id, c.subject)
			}
			for _, k := range c.fixKeys {
				if !slices.ContainsFunc(f.Fix, func(o Override) bool { return o.Key == k }) {
					t.Errorf("fix %q does not set %s", f.SetArgs(), k)
				}
			}
			if v, ok := f.Numbers[c.number]; !ok || v < c.min || v > c.max {
				t.Errorf("evidence %s = %v, want in [%v, %v]", c.number, v, c.min, c.max)
			}
			if len(f.Evidence) == 0 || f.Explanation == "" {
				t.Errorf("finding without evidence or explanation: %+v", f)
			}
		})
	}
}

func TestHandMadeHealthyHasNoFindings(t *testing.T) {
	for _, f := range Diagnose(loadTestdata(t, "healthy"), DefaultThresholds(0)) {
		t.Errorf("unexpected finding %s: %s %v", f.ID, f.Title, f.Evidence)
	}
}

func loadTestdata(t *testing.T, name string) *Run {
	t.Helper()
	r := NewRun(testdataRows(t, name))
	r.Dir = name
	return r
}

// testdataRows reads the rows of testdata/name.jsonl.
func testdataRows(t testing.TB, name string) []metrics.Row {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name+".jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := ReadRows(f)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}
