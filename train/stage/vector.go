package stage

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"

	"github.com/graftrain/graftrain/graphs"
)

// VectorFile is a stage's per-variable multiplier vector as `graftrain plan
// --variables-out` writes it: the lr_multipliers input exactly as the
// trainer feeds it, one entry per variable in manifest order, with the
// stage's base learning rate and loss weights.
type VectorFile struct {
	Stage        string        `json:"stage"`
	StageIndex   int           `json:"stage_index"`
	Model        string        `json:"model,omitempty"`
	LearningRate float64       `json:"learning_rate"`
	LossWeights  []LossWeight  `json:"loss_weights"`
	Variables    []VectorEntry `json:"variables"`
}

// VectorEntry is one variable's multiplier.
type VectorEntry struct {
	Index      int     `json:"index"`
	Path       string  `json:"path"`
	Group      string  `json:"group"` // empty for a variable in no group
	Multiplier float32 `json:"multiplier"`
}

// Vector returns stage i's multiplier vector with the variables' paths.
func (p *Plan) Vector(i int) (VectorFile, error) {
	if i < 0 || i >= len(p.Stages) {
		return VectorFile{}, fmt.Errorf("stage index %d: the plan has %d stages", i, len(p.Stages))
	}
	s := &p.Stages[i]
	f := VectorFile{Stage: s.Name, StageIndex: i, Model: p.Model, LearningRate: s.LearningRate}
	for k, name := range graphs.LossNames {
		f.LossWeights = append(f.LossWeights, LossWeight{Loss: name, Weight: s.LossWeights[k]})
	}
	f.Variables = make([]VectorEntry, len(p.Variables))
	for v, vr := range p.Variables {
		e := VectorEntry{Index: v, Path: vr.Path, Multiplier: s.Multipliers[v]}
		if g := p.GroupOf[v]; g >= 0 {
			e.Group = p.Groups[g].Name
		}
		f.Variables[v] = e
	}
	return f, nil
}

// WriteVector writes stage i's vector as JSON, one variable per line.
func (p *Plan) WriteVector(w io.Writer, i int) error {
	f, err := p.Vector(i)
	if err != nil {
		return err
	}
	hb, err := json.Marshal(struct {
		Stage        string       `json:"stage"`
		StageIndex   int          `json:"stage_index"`
		Model        string       `json:"model,omitempty"`
		LearningRate float64      `json:"learning_rate"`
		LossWeights  []LossWeight `json:"loss_weights"`
	}{f.Stage, f.StageIndex, f.Model, f.LearningRate, f.LossWeights})
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	// Reopen the header object to append the variables array.
	bw.Write(hb[:len(hb)-1])
	bw.WriteString(",\n  \"variables\": [\n")
	for k, e := range f.Variables {
		line, err := json.Marshal(e)
		if err != nil {
			return err
		}
		bw.WriteString("    ")
		bw.Write(line)
		if k < len(f.Variables)-1 {
			bw.WriteByte(',')
		}
		bw.WriteByte('\n')
	}
	bw.WriteString("  ]\n}\n")
	return bw.Flush()
}
