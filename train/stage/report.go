package stage

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/graftrain/graftrain/graphs"
)

// Report is the plan as `graftrain plan --json` prints it.
type Report struct {
	Model     string        `json:"model,omitempty"`
	Variables int           `json:"variables"`
	Params    int64         `json:"params"`
	Groups    []GroupReport `json:"groups"`
	// UnmatchedVariables and UnmatchedParams count the variables in no group.
	UnmatchedVariables int           `json:"unmatched_variables"`
	UnmatchedParams    int64         `json:"unmatched_params"`
	Stages             []StageReport `json:"stages"`
	Warnings           []Warning     `json:"warnings"`
}

// GroupReport describes a group.
type GroupReport struct {
	Name      string `json:"name"`
	Regex     string `json:"regex"`
	Variables int    `json:"variables"`
	Params    int64  `json:"params"`
}

// StageReport describes a stage.
type StageReport struct {
	Name               string             `json:"name"`
	Layers             []string           `json:"layers"`
	Epochs             int                `json:"epochs,omitempty"`
	Steps              int64              `json:"steps,omitempty"`
	LearningRate       float64            `json:"learning_rate"`
	StartLearningRate  float64            `json:"start_learning_rate"`
	WarmupSteps        int64              `json:"warmup_steps"`
	TrainBN            bool               `json:"train_bn"`
	TrainableVariables int                `json:"trainable_variables"`
	TrainableParams    int64              `json:"trainable_params"`
	LossWeights        []LossWeight       `json:"loss_weights"`
	Groups             []StageGroupReport `json:"groups"`
	Warnings           []Warning          `json:"warnings"`
}

// LossWeight is one entry of the loss_weights input.
type LossWeight struct {
	Loss   string  `json:"loss"`
	Weight float32 `json:"weight"`
}

// StageGroupReport is one row of a stage's table.
type StageGroupReport struct {
	Group              string  `json:"group"`
	Variables          int     `json:"variables"`
	Params             int64   `json:"params"`
	TrainableVariables int     `json:"trainable_variables"`
	TrainableParams    int64   `json:"trainable_params"`
	State              string  `json:"state"` // trainable | frozen
	Multiplier         float64 `json:"lr_multiplier"`
	StartLearningRate  float64 `json:"start_learning_rate"`
	LearningRate       float64 `json:"learning_rate"`
}

// Report summarises the plan for printing.
func (p *Plan) Report() Report {
	r := Report{
		Model: p.Model, Variables: len(p.Variables), Params: p.Params,
		UnmatchedVariables: len(p.Unmatched),
		Warnings:           append([]Warning{}, p.Warnings...),
	}
	for _, v := range p.Unmatched {
		n, _ := elements(p.Variables[v].Shape)
		r.UnmatchedParams += n
	}
	for _, g := range p.Groups {
		r.Groups = append(r.Groups, GroupReport{Name: g.Name, Regex: g.Regex, Variables: len(g.Variables), Params: g.Params})
	}
	for _, s := range p.Stages {
		sr := StageReport{
			Name: s.Name, Layers: s.Layers, Epochs: s.Epochs, Steps: s.Steps, LearningRate: s.LearningRate, StartLearningRate: s.StartLR,
			WarmupSteps: s.WarmupSteps, TrainBN: s.TrainBN,
			TrainableVariables: s.TrainableVariables, TrainableParams: s.TrainableParams,
			Warnings: append([]Warning{}, s.Warnings...),
		}
		for k, name := range graphs.LossNames {
			sr.LossWeights = append(sr.LossWeights, LossWeight{Loss: name, Weight: s.LossWeights[k]})
		}
		for gi, g := range p.Groups {
			gs := s.Groups[gi]
			state := "frozen"
			if gs.Trains() {
				state = "trainable"
			}
			sr.Groups = append(sr.Groups, StageGroupReport{
				Group: g.Name, Variables: len(g.Variables), Params: g.Params,
				TrainableVariables: gs.Variables, TrainableParams: gs.Params, State: state,
				Multiplier: gs.Multiplier, StartLearningRate: gs.StartLR, LearningRate: gs.LR,
			})
		}
		r.Stages = append(r.Stages, sr)
	}
	return r
}

// WriteJSON writes the report as indented JSON.
func (p *Plan) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(p.Report())
}

// WriteText writes one table per stage: each group's variables and
// parameters, what trains, the LR multiplier and the effective learning
// rate at the stage's first step and after warm-up; then the loss weights
// and the warnings.
func (p *Plan) WriteText(w io.Writer) error {
	r := p.Report()
	bw := bufio.NewWriter(w)
	if r.Model != "" {
		fmt.Fprintf(bw, "model: %s\n", r.Model)
	}
	fmt.Fprintf(bw, "variables: %d, parameters: %s in %d groups", r.Variables, thousands(r.Params), len(r.Groups))
	if r.UnmatchedVariables > 0 {
		fmt.Fprintf(bw, ", %s (%s parameters) in no group", plural(int64(r.UnmatchedVariables), "variable"), thousands(r.UnmatchedParams))
	}
	fmt.Fprintln(bw)
	for i, s := range r.Stages {
		length := plural(int64(s.Epochs), "epoch")
		if s.Steps > 0 {
			length = plural(s.Steps, "step")
		}
		fmt.Fprintf(bw, "\nstage %d/%d %s: %s, layers %s, learning rate %s", i+1, len(r.Stages), s.Name, length, strings.Join(s.Layers, ", "), num(s.LearningRate))
		if s.WarmupSteps > 0 {
			fmt.Fprintf(bw, " after %d warm-up steps from %s", s.WarmupSteps, num(s.StartLearningRate))
		}
		bn := "frozen"
		if s.TrainBN {
			bn = "trained"
		}
		fmt.Fprintf(bw, ", BatchNorm %s\n", bn)
		tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
		fmt.Fprint(tw, "  GROUP\tVARIABLES\tPARAMETERS\tTRAINED VARS\tTRAINED PARAMS\tSTATE\tLR MULT\tLR START\tLR\n")
		for _, g := range s.Groups {
			fmt.Fprintf(tw, "  %s\t%d\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", g.Group, g.Variables, thousands(g.Params),
				g.TrainableVariables, thousands(g.TrainableParams), g.State, num(g.Multiplier), num(g.StartLearningRate), num(g.LearningRate))
		}
		if r.UnmatchedVariables > 0 {
			fmt.Fprintf(tw, "  (no group)\t%d\t%s\t0\t0\tfrozen\t0\t0\t0\n", r.UnmatchedVariables, thousands(r.UnmatchedParams))
		}
		fmt.Fprintf(tw, "  total\t%d\t%s\t%d\t%s\n", r.Variables, thousands(r.Params), s.TrainableVariables, thousands(s.TrainableParams))
		if err := tw.Flush(); err != nil {
			return err
		}
		parts := make([]string, len(s.LossWeights))
		for k, lw := range s.LossWeights {
			parts[k] = lw.Loss + " " + num(float64(lw.Weight))
		}
		fmt.Fprintf(bw, "loss weights: %s\n", strings.Join(parts, ", "))
		for _, wn := range s.Warnings {
			fmt.Fprintf(bw, "warning: %s\n", wn.Message)
		}
	}
	if len(r.Warnings) > 0 {
		fmt.Fprintln(bw)
		for _, wn := range r.Warnings {
			fmt.Fprintf(bw, "warning: %s\n", wn.Message)
		}
	}
	return bw.Flush()
}

func plural(n int64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// num prints a rate or multiplier with 6 significant digits, so that
// 0.001 x 0.2 prints as 0.0002.
func num(x float64) string { return strconv.FormatFloat(x, 'g', 6, 64) }

// thousands prints n with comma separators: 64,158,584.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
