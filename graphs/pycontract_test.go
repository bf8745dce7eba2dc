package graphs

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// The Python exporter writes the contract this package defines; its names
// must not drift.
func TestPythonExporterNamesMatchContract(t *testing.T) {
	src, err := os.ReadFile("python/graftrain_export/contract.py")
	if err != nil {
		t.Fatalf("read exporter contract: %v", err)
	}
	text := string(src)
	tuple := func(name string) []string {
		re := regexp.MustCompile(`(?s)\n` + name + ` = \((.*?)\)`)
		m := re.FindStringSubmatch(text)
		if m == nil {
			t.Fatalf("contract.py: %s not found", name)
		}
		var out []string
		for _, q := range regexp.MustCompile(`"([^"]+)"`).FindAllStringSubmatch(m[1], -1) {
			out = append(out, q[1])
		}
		return out
	}
	scalar := func(name string) string {
		m := regexp.MustCompile(`\n` + name + ` = "?([^"\n]+)"?`).FindStringSubmatch(text)
		if m == nil {
			t.Fatalf("contract.py: %s not found", name)
		}
		return m[1]
	}

	if got := tuple("LOSS_NAMES"); strings.Join(got, ",") != strings.Join(LossNames[:], ",") {
		t.Errorf("LOSS_NAMES = %v, want %v", got, LossNames)
	}
	wantInputs := []string{InputImage, InputImageMeta, InputRPNMatch, InputRPNBBox, InputGTClassIDs, InputGTBoxes, InputGTMasks}
	if got := tuple("DATA_INPUTS"); strings.Join(got, ",") != strings.Join(wantInputs, ",") {
		t.Errorf("DATA_INPUTS = %v, want %v", got, wantInputs)
	}
	for name, want := range map[string]string{
		"CONTRACT_VERSION":     "1",
		"SIGNATURE_TRAIN":      SignatureTrain,
		"SIGNATURE_EVAL":       SignatureEval,
		"SIGNATURE_PREDICT":    SignaturePredict,
		"SIGNATURE_SERVING":    SignatureServing,
		"INPUT_ANCHORS":        InputAnchors,
		"INPUT_LEARNING_RATE":  InputLearningRate,
		"INPUT_LR_MULTIPLIERS": InputLRMultipliers,
		"INPUT_LOSS_WEIGHTS":   InputLossWeights,
		"ASSET_CONTRACT":       AssetContract,
		"ASSET_VARIABLES":      AssetVariables,
	} {
		if got := scalar(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if ContractVersion != 1 {
		t.Errorf("ContractVersion = %d: update contract.py's CONTRACT_VERSION with it", ContractVersion)
	}
}
