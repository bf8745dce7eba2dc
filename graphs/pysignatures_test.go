package graphs

import (
	"encoding/json"
	"os/exec"
	"slices"
	"testing"
)

// listSignatureFunctions prints, in source order, the parameters of every
// function named train_step, eval_step or predict in exporter.py, read with
// Python's own parser (no TensorFlow needed).
const listSignatureFunctions = `
import ast, json, sys
tree = ast.parse(open(sys.argv[1]).read())
out = [{"name": n.name, "params": [a.arg for a in n.args.args]}
       for n in ast.walk(tree)
       if isinstance(n, ast.FunctionDef) and n.name in ("train_step", "eval_step", "predict")]
out.sort(key=lambda f: f["name"])
print(json.dumps(out))
`

// The exporter's signature functions take exactly the contract's inputs:
// their parameter names become the SavedModel's input keys, so a missing,
// extra or misspelt one makes graftrain refuse every export. Each variant
// (with and without rpn_min_proposal_size) is checked, and eval_step must
// declare the same optional inputs as train_step, as the contract asset
// lists them for both.
func TestPythonSignaturesTakeTheContractInputs(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found: the exporter's signatures are not checked")
	}
	out, err := exec.Command(py, "-c", listSignatureFunctions, "python/graftrain_export/exporter.py").Output()
	if err != nil {
		t.Fatalf("parse exporter.py: %v", err)
	}
	var fns []struct {
		Name   string   `json:"name"`
		Params []string `json:"params"`
	}
	if err := json.Unmarshal(out, &fns); err != nil {
		t.Fatal(err)
	}
	byName := map[string][][]string{}
	for _, f := range fns {
		byName[f.Name] = append(byName[f.Name], f.Params)
	}

	withoutProposal := slices.DeleteFunc(slices.Clone(OptionalInputs()), func(s string) bool { return s == InputRPNMinProposalSize })
	variants := [][]string{OptionalInputs(), withoutProposal}
	// variantsOf gives, per function of sig in source order, the index of
	// the optional-input variant it declares (-1: none fits).
	variantsOf := func(sig string) []int {
		spec, ok := Signature(sig)
		if !ok {
			t.Fatalf("no spec for %s", sig)
		}
		var required []string
		for _, in := range spec.Inputs {
			if !in.Optional {
				required = append(required, in.Key)
			}
		}
		got := byName[sig]
		if len(got) != len(variants) {
			t.Fatalf("exporter.py defines %d %s functions, want %d (with and without %s)", len(got), sig, len(variants), InputRPNMinProposalSize)
		}
		idx := make([]int, len(got))
		for i, params := range got {
			idx[i] = slices.IndexFunc(variants, func(opt []string) bool {
				return slices.Equal(params, append(slices.Clone(required), opt...))
			})
			if idx[i] < 0 {
				t.Errorf("%s(%v): want the contract inputs %v followed by the optional inputs %v or %v", sig, params, required, variants[0], variants[1])
			}
		}
		return idx
	}
	// Source order pairs the variants: train_step and eval_step of each
	// declare the same optional inputs.
	if tr, ev := variantsOf(SignatureTrain), variantsOf(SignatureEval); !slices.Equal(tr, ev) {
		t.Errorf("train_step functions declare optional variants %v, eval_step functions %v: want the same, in the same order", tr, ev)
	}

	pred, _ := Signature(SignaturePredict)
	var want []string
	for _, in := range pred.Inputs {
		want = append(want, in.Key)
	}
	if got := byName[SignaturePredict]; len(got) != 1 || !slices.Equal(got[0], want) {
		t.Errorf("predict functions %v, want one taking %v", got, want)
	}
}
