package diagnose

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Severity orders findings: a bug or a run that cannot learn first.
type Severity int

// Severities, lowest first.
const (
	Info Severity = iota
	Warning
	Error
	Critical
)

var severityNames = [...]string{"info", "warning", "error", "critical"}

func (s Severity) String() string {
	if s < 0 || int(s) >= len(severityNames) {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// MarshalJSON writes the severity's name.
func (s Severity) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// UnmarshalJSON reads a severity's name.
func (s *Severity) UnmarshalJSON(b []byte) error {
	var n string
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	for i, v := range severityNames {
		if v == n {
			*s = Severity(i)
			return nil
		}
	}
	return fmt.Errorf("unknown severity %q (want one of %v)", n, severityNames)
}

// Stable finding IDs. docs/diagnosing.md has a section for each.
const (
	IDLossPlateau        = "loss_plateau"
	IDBranchDominates    = "branch_dominates"
	IDFrozenGroupMoved   = "frozen_group_moved"
	IDGroupNotTraining   = "group_not_training"
	IDVanishingGradients = "vanishing_gradients"
	IDExplodingGradients = "exploding_gradients"
	IDStageSwitchSpike   = "stage_switch_spike"
	IDClippingSaturated  = "clipping_saturated"
	IDRPNStarved         = "rpn_starved"
	IDHeadsNoPositives   = "heads_no_positive_rois"
	IDOverfitting        = "overfitting"
	IDDataStarvation     = "data_starvation"
	IDNonFiniteLosses    = "non_finite_losses"
)

// Override is one suggested config change, written as graftrain's --set
// takes it.
type Override struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

func (o Override) String() string { return o.Key + "=" + o.Value }

// Finding is one diagnosed problem.
type Finding struct {
	ID       string   `json:"id"`
	Severity Severity `json:"severity"`
	// Confidence in [0, 1]: how clearly the numbers show it.
	Confidence float64 `json:"confidence"`
	Title      string  `json:"title"`
	// Stage is the stage index the finding concerns (-1: the whole run).
	Stage     int    `json:"stage"`
	StageName string `json:"stage_name,omitempty"`
	// Subject is the loss or group concerned, when one is.
	Subject string `json:"subject,omitempty"`
	// FirstStep and LastStep bound the steps the evidence comes from.
	FirstStep int64              `json:"first_step"`
	LastStep  int64              `json:"last_step"`
	Evidence  []string           `json:"evidence"`
	Numbers   map[string]float64 `json:"numbers,omitempty"`
	// Explanation says what the numbers mean and why the fix helps.
	Explanation string     `json:"explanation"`
	Fix         []Override `json:"fix,omitempty"`
	// Plots names the report plots that show it (losses, lr, grad_norms,
	// update_ratios, validation, timing).
	Plots []string `json:"plots,omitempty"`
	// ExplainedBy names a finding this one most likely follows from.
	ExplainedBy string `json:"explained_by,omitempty"`
}

// Key identifies a finding across repeated diagnoses of a growing run (the
// live monitor warns once per key).
func (f *Finding) Key() string { return fmt.Sprintf("%s/%d/%s", f.ID, f.Stage, f.Subject) }

// SetArgs renders the fix as command-line arguments.
func (f *Finding) SetArgs() string {
	var b strings.Builder
	for i, o := range f.Fix {
		if i > 0 {
			b.WriteByte(' ')
		}
		v := o.Value
		if strings.ContainsAny(v, " []{},") {
			v = "'" + v + "'"
		}
		fmt.Fprintf(&b, "--set %s=%s", o.Key, v)
	}
	return b.String()
}

// Rank sorts findings most important first: severity, then confidence,
// then ID, stage and subject so the order is stable.
func Rank(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		if c := cmp.Compare(b.Severity, a.Severity); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Confidence, a.Confidence); c != 0 {
			return c
		}
		if c := cmp.Compare(a.ID, b.ID); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Stage, b.Stage); c != 0 {
			return c
		}
		return cmp.Compare(a.Subject, b.Subject)
	})
}
