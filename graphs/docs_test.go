package graphs

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// TestContractDoc keeps docs/contract.md in step with the contract: every
// signature, input, output and asset field defined here is documented.
func TestContractDoc(t *testing.T) {
	b, err := os.ReadFile("../docs/contract.md")
	if err != nil {
		t.Skipf("docs/contract.md: %v", err)
	}
	doc := string(b)
	var names []string
	for _, s := range Signatures() {
		names = append(names, s.Name)
		names = append(names, s.Aliases...)
		for _, ts := range append(s.Inputs, s.Outputs...) {
			names = append(names, ts.Key)
		}
	}
	for _, v := range []any{ContractAsset{}, ModelConfig{}, VariablesManifest{}, Variable{}} {
		rt := reflect.TypeOf(v)
		for i := range rt.NumField() {
			tag, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
			names = append(names, tag)
		}
	}
	for _, n := range names {
		if !strings.Contains(doc, "`"+n+"`") && !strings.Contains(doc, `"`+n+`"`) {
			t.Errorf("docs/contract.md does not mention %s", n)
		}
	}
}
