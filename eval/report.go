package eval

import (
	"fmt"
	"io"
	"strconv"
)

// CategoryResult is the summary of one category.
type CategoryResult struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Stats Stats  `json:"stats"`
}

// PerCategory returns the twelve summary numbers of every evaluated
// category in id order, named from gt; nil when categories are not used.
func (e *Eval) PerCategory(gt *GroundTruth) []CategoryResult {
	if !e.Params.UseCats {
		return nil
	}
	names := make(map[int64]string, len(gt.Categories))
	for _, c := range gt.Categories {
		names[c.ID] = c.Name
	}
	out := make([]CategoryResult, len(e.Params.CatIDs))
	for k, id := range e.Params.CatIDs {
		name, ok := names[id]
		if !ok {
			name = strconv.FormatInt(id, 10)
		}
		out[k] = CategoryResult{ID: id, Name: name, Stats: e.CategoryStats(k)}
	}
	return out
}

// Report is the machine-readable result of an evaluation: the twelve
// numbers in full precision and, keyed by category name, each category's.
type Report struct {
	Type     IoUType                   `json:"type"`
	Stats    Stats                     `json:"stats"`
	PerClass map[string]CategoryResult `json:"per_class,omitempty"`
}

// NewReport builds the Report of e; per-class entries come from cats
// (names that repeat get their id appended).
func NewReport(e *Eval, cats []CategoryResult) Report {
	r := Report{Type: e.Params.Type, Stats: e.Stats()}
	if len(cats) > 0 {
		r.PerClass = make(map[string]CategoryResult, len(cats))
		for _, c := range cats {
			key := c.Name
			if _, dup := r.PerClass[key]; dup {
				key = fmt.Sprintf("%s#%d", c.Name, c.ID)
			}
			r.PerClass[key] = c
		}
	}
	return r
}

// WritePerCategory prints one line per category with its AP at IoU
// .50:.95, .50 and .75 and for small, medium and large objects; "-" marks a
// category without objects in that setting.
func WritePerCategory(w io.Writer, cats []CategoryResult) error {
	width := len("category")
	for _, c := range cats {
		width = max(width, len(c.Name))
	}
	if _, err := fmt.Fprintf(w, "%-*s %6s %6s %6s %6s %6s %6s\n", width, "category", "AP", "AP50", "AP75", "APs", "APm", "APl"); err != nil {
		return err
	}
	for _, c := range cats {
		line := fmt.Sprintf("%-*s", width, c.Name)
		for _, v := range c.Stats[:6] {
			if v < 0 {
				line += fmt.Sprintf(" %6s", "-")
			} else {
				line += fmt.Sprintf(" %6.3f", v)
			}
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	return nil
}
