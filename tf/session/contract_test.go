package session

import (
	"strings"
	"testing"

	"github.com/graftrain/graftrain/data/batch"
	"github.com/graftrain/graftrain/graphs"
	"github.com/graftrain/graftrain/tf/savedmodel"
)

func TestDims(t *testing.T) {
	want := batch.Dims{Size: 2, Height: 128, Width: 128, NumClasses: 4, Anchors: 4092, RPNTrainAnchors: 64, MaxGTInstances: 10, MaskHeight: 28, MaskWidth: 28}
	full := graphs.Sizes{
		graphs.DimBatch: 2, graphs.DimHeight: 128, graphs.DimWidth: 128, graphs.DimMeta: 16, graphs.DimNumClasses: 4,
		graphs.DimAnchors: 4092, graphs.DimRPNTrainAnchors: 64, graphs.DimMaxGT: 10, graphs.DimMaskHeight: 28, graphs.DimMaskWidth: 28,
	}
	// A train_step that fixes the anchor count in input_rpn_match.
	graph := &savedmodel.MetaGraph{Signatures: []savedmodel.Signature{{
		Key: graphs.SignatureTrain,
		Inputs: []savedmodel.Tensor{
			{Key: graphs.InputRPNMatch, Name: "train_step_input_rpn_match:0", DType: "int32", Shape: savedmodel.Shape{Dims: []int64{2, 4092, 1}}},
			{Key: graphs.InputImage, Name: "train_step_input_image:0", DType: "float32", Shape: savedmodel.Shape{Dims: []int64{-1, -1, -1, 3}}},
		},
	}}}
	without := func(keys ...string) graphs.Sizes {
		s := graphs.Sizes{}
		for k, v := range full {
			s[k] = v
		}
		for _, k := range keys {
			delete(s, k)
		}
		return s
	}
	tests := []struct {
		name    string
		sizes   graphs.Sizes
		g       *savedmodel.MetaGraph
		wantErr string
	}{
		{"asset sizes", full, nil, ""},
		{"anchors from the signature", without(graphs.DimAnchors), graph, ""},
		{"open dimensions named", without(graphs.DimAnchors, graphs.DimHeight), &savedmodel.MetaGraph{},
			"the model fixes no size for H (input_image dimension 1), A (input_rpn_match dimension 1)"},
		{"signature leaves H open", without(graphs.DimHeight), graph, "H (input_image dimension 1)"},
		{"meta too narrow", func() graphs.Sizes { s := without(); s[graphs.DimMeta] = 12; return s }(), nil, "input_image_meta is 12 wide"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Dims(tt.sizes, tt.g)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("dims = %+v, want %+v", got, want)
			}
		})
	}
}
