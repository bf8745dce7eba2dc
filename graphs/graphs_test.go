package graphs

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func TestReadContractAsset(t *testing.T) {
	f, err := os.Open("testdata/graftrain_contract.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a, err := ReadContractAsset(f)
	if err != nil {
		t.Fatal(err)
	}
	s := a.Model.Sizes()
	// matterport's 1024x1024 pyramid: (256² + 128² + 64² + 32² + 16²) * 3.
	want := Sizes{"B": 2, "H": 1024, "W": 1024, "A": 261888, "META": 93, "NUM_CLASSES": 81,
		"RPN_TRAIN_ANCHORS_PER_IMAGE": 256, "MAX_GT_INSTANCES": 100, "MASK_H": 56, "MASK_W": 56,
		"MASK_SHAPE_H": 28, "MASK_SHAPE_W": 28}
	for k, v := range want {
		if s[k] != v {
			t.Errorf("Sizes()[%s] = %d, want %d", k, s[k], v)
		}
	}
	if len(s) != len(want) {
		t.Errorf("Sizes() = %v", s)
	}
}

func TestContractAssetErrors(t *testing.T) {
	good, err := os.ReadFile("testdata/graftrain_contract.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, from, to string
		fields         []string
	}{
		{"version", `"contract_version": 1`, `"contract_version": 2`, []string{"contract_version"}},
		{"no version", `"contract_version": 1,`, ``, []string{"contract_version"}},
		{"unknown field", `"train_bn": false`, `"train_bn": false, "trian_bn": true`, []string{"trian_bn"}},
		{"type", `"BATCH_SIZE": 2`, `"BATCH_SIZE": "2"`, []string{"model.BATCH_SIZE"}},
		{"image not /64", `[1024, 1024, 3]`, `[1000, 1024, 3]`, []string{"model.IMAGE_SHAPE"}},
		{"scales", `[32, 64, 128, 256, 512]`, `[32, 64]`, []string{"model.RPN_ANCHOR_SCALES"}},
		{"two problems", `"optimizer": "sgd-momentum"`, `"optimizer": "sgd"`, []string{"optimizer"}},
		{"optional", `"weight_decay", "rpn`, `"wd", "rpn`, []string{"optional_inputs"}},
		{"class names", `"CLASS_NAMES": []`, `"CLASS_NAMES": ["BG"]`, []string{"model.CLASS_NAMES"}},
		{"syntax", `"optimizer"`, `optimizer`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := strings.Replace(string(good), tc.from, tc.to, 1)
			if in == string(good) {
				t.Fatal("replacement did not apply")
			}
			_, err := ReadContractAsset(strings.NewReader(in))
			if err == nil {
				t.Fatal("no error")
			}
			for _, f := range tc.fields {
				if !hasField(err, f) {
					t.Errorf("error %q does not name field %s", err, f)
				}
			}
			if tc.fields == nil && !strings.Contains(err.Error(), "line") {
				t.Errorf("syntax error %q lacks a line", err)
			}
		})
	}
}

func hasField(err error, field string) bool {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			if hasField(e, field) {
				return true
			}
		}
		return false
	}
	var ae *AssetError
	return errors.As(err, &ae) && ae.Field == field
}

func TestReadVariablesManifest(t *testing.T) {
	good, err := os.ReadFile("testdata/graftrain_variables.json")
	if err != nil {
		t.Fatal(err)
	}
	m, err := ReadVariablesManifest(strings.NewReader(string(good)))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Variables) != 3 || m.Variables[0].NumElements() != 7*7*3*64 || !m.Variables[2].BatchNorm {
		t.Errorf("manifest = %+v", m)
	}
	for _, tc := range []struct{ from, to, field string }{
		{`"index": 1`, `"index": 2`, "variables[1].index"},
		{`"bn_conv1/moving_mean"`, `"bn_conv1/gamma"`, "variables[2].path"},
		{`"path": "conv1/kernel"`, `"path": ""`, "variables[0].path"},
		{`[64], "dtype": "float32", "trainable": true`, `[64], "dtype": "f32", "trainable": true`, "variables[1].dtype"},
		{`[7, 7, 3, 64]`, `[7, -1, 3, 64]`, "variables[0].shape"},
		{`"trainable": true, "batch_norm": false`, `"trainable": "yes", "batch_norm": false`, "variables.trainable"},
	} {
		in := strings.Replace(string(good), tc.from, tc.to, 1)
		if in == string(good) {
			t.Fatalf("replacement %q did not apply", tc.from)
		}
		if _, err := ReadVariablesManifest(strings.NewReader(in)); !hasField(err, tc.field) {
			t.Errorf("%s -> %s: error %v does not name %s", tc.from, tc.to, err, tc.field)
		}
	}
}

func TestSignatures(t *testing.T) {
	sigs := Signatures()
	if len(sigs) != 3 {
		t.Fatalf("%d signatures", len(sigs))
	}
	train, ok := Signature(SignatureTrain)
	if !ok {
		t.Fatal("no train_step")
	}
	required := 0
	for _, in := range train.Inputs {
		if !in.Optional {
			required++
		}
	}
	if required != 10 { // seven data inputs, learning_rate, lr_multipliers, loss_weights
		t.Errorf("train_step has %d required inputs, want 10", required)
	}
	if p, ok := Signature(SignatureServing); !ok || p.Name != SignaturePredict {
		t.Errorf("serving_default does not resolve to predict")
	}
	img, _ := train.Input(InputImage)
	if img.ShapeString() != "[B, H, W, 3]" {
		t.Errorf("input_image rule = %s", img.ShapeString())
	}
	s := Sizes{DimBatch: 2, DimHeight: 128, DimWidth: 128}
	for _, tc := range []struct {
		got []int64
		ok  bool
	}{
		{[]int64{2, 128, 128, 3}, true},
		{[]int64{-1, 128, 128, 3}, true},
		{[]int64{2, 256, 128, 3}, false},
		{[]int64{2, 128, 128}, false},
		{[]int64{2, 128, 128, 1}, false},
	} {
		if err := img.CheckShape(tc.got, false, s); (err == nil) != tc.ok {
			t.Errorf("CheckShape(%v) = %v, want ok=%v", tc.got, err, tc.ok)
		}
	}
	lr, _ := train.Input(InputLearningRate)
	if lr.CheckShape(nil, false, s) != nil || lr.CheckShape([]int64{1}, false, s) != nil || lr.CheckShape([]int64{2}, false, s) == nil {
		t.Error("learning_rate scalar rule")
	}
	if img.CheckShape(nil, true, s) == nil {
		t.Error("unknown rank accepted")
	}
}
