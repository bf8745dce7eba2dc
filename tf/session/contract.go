package session

import (
	"fmt"
	"strings"

	"github.com/graftrain/graftrain/data/batch"
	"github.com/graftrain/graftrain/graphs"
	"github.com/graftrain/graftrain/tf/savedmodel"
)

// Dims returns the batch dimensions a model's contract binds: from the
// contract asset's sizes (savedmodel.ContractReport.Sizes) where present,
// else from train_step's static input shapes (matterport exports fix B, H
// and W, and with them the anchor count). It names every dimension that
// neither fixes.
func Dims(sizes graphs.Sizes, g *savedmodel.MetaGraph) (batch.Dims, error) {
	var d batch.Dims
	var sig savedmodel.Signature
	if g != nil {
		sig, _ = g.Signature(graphs.SignatureTrain)
	}
	fields := []struct {
		dst   *int
		dim   string
		input string
		axis  int
	}{
		{&d.Size, graphs.DimBatch, graphs.InputImage, 0},
		{&d.Height, graphs.DimHeight, graphs.InputImage, 1},
		{&d.Width, graphs.DimWidth, graphs.InputImage, 2},
		{&d.NumClasses, graphs.DimMeta, graphs.InputImageMeta, 1},
		{&d.Anchors, graphs.DimAnchors, graphs.InputRPNMatch, 1},
		{&d.RPNTrainAnchors, graphs.DimRPNTrainAnchors, graphs.InputRPNBBox, 1},
		{&d.MaxGTInstances, graphs.DimMaxGT, graphs.InputGTClassIDs, 1},
		{&d.MaskHeight, graphs.DimMaskHeight, graphs.InputGTMasks, 1},
		{&d.MaskWidth, graphs.DimMaskWidth, graphs.InputGTMasks, 2},
	}
	var open []string
	for _, f := range fields {
		if v := sizes[f.dim]; v > 0 {
			*f.dst = int(v)
			continue
		}
		if t, ok := sig.Input(f.input); ok && !t.Shape.UnknownRank && f.axis < len(t.Shape.Dims) && t.Shape.Dims[f.axis] > 0 {
			*f.dst = int(t.Shape.Dims[f.axis])
			continue
		}
		open = append(open, fmt.Sprintf("%s (%s dimension %d)", f.dim, f.input, f.axis))
	}
	if len(open) > 0 {
		return batch.Dims{}, fmt.Errorf("the model fixes no size for %s: state it in %s or export train_step with static shapes", strings.Join(open, ", "), graphs.AssetContract)
	}
	d.NumClasses -= 12 // META is 12 + NUM_CLASSES
	if d.NumClasses <= 0 {
		return batch.Dims{}, fmt.Errorf("%s is %d wide, too narrow for 12 + NUM_CLASSES values", graphs.InputImageMeta, d.NumClasses+12)
	}
	return d, nil
}
