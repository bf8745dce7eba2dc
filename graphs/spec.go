package graphs

import (
	"fmt"
	"strconv"
	"strings"
)

// Names of the contract outputs besides LossNames.
const (
	OutputTotalLoss      = "total_loss"
	OutputGradNorm       = "grad_norm"
	OutputVarGradNorms   = "var_grad_norms"
	OutputVarUpdateNorms = "var_update_norms"
	OutputStep           = "step"
	OutputDetections     = "detections"
	OutputMasks          = "mrcnn_mask"
)

// Optional contract inputs (scalars fed per step when the export has them)
// and optional train_step outputs.
const (
	InputWeightDecay          = "weight_decay"
	InputMomentum             = "momentum"
	InputClipNorm             = "clip_norm"
	InputRPNMinProposalSize   = "rpn_min_proposal_size"
	OutputRPNPositiveAnchors  = "rpn_positive_anchors"
	OutputSmallProposalFrac   = "small_proposal_fraction"
	OutputROIPositiveFraction = "roi_positive_fraction"
	OutputUpdateSkipped       = "update_skipped"
)

// OptionalInputs returns the optional input keys, in documentation order.
func OptionalInputs() []string {
	return []string{InputWeightDecay, InputMomentum, InputClipNorm, InputRPNMinProposalSize}
}

// OptionalOutputs returns the optional train_step output keys.
func OptionalOutputs() []string {
	return []string{OutputRPNPositiveAnchors, OutputSmallProposalFrac, OutputROIPositiveFraction, OutputUpdateSkipped}
}

// Symbolic dimension names used in shape rules. Sizes binds them to numbers.
const (
	DimBatch           = "B"                           // BATCH_SIZE
	DimHeight          = "H"                           // IMAGE_SHAPE[0]
	DimWidth           = "W"                           // IMAGE_SHAPE[1]
	DimAnchors         = "A"                           // anchors per image
	DimVariables       = "V"                           // variables in the manifest
	DimMeta            = "META"                        // 12 + NUM_CLASSES
	DimNumClasses      = "NUM_CLASSES"                 // including background
	DimRPNTrainAnchors = "RPN_TRAIN_ANCHORS_PER_IMAGE" // RPN targets per image
	DimMaxGT           = "MAX_GT_INSTANCES"
	DimMaskHeight      = "MASK_H"     // MINI_MASK_SHAPE[0], or H without mini masks
	DimMaskWidth       = "MASK_W"     // MINI_MASK_SHAPE[1], or W without mini masks
	DimDetections      = "DETECTIONS" // detections per image; any size
	// The mask head's output size (matterport's MASK_SHAPE, 28×28 by
	// default), which predict's masks have; not the training targets'
	// MINI_MASK_SHAPE.
	DimHeadMaskHeight = "MASK_SHAPE_H"
	DimHeadMaskWidth  = "MASK_SHAPE_W"
)

// Dim is one dimension of a shape rule: a fixed Size, or a symbolic Name.
type Dim struct {
	Name string `json:"name,omitempty"`
	Size int64  `json:"size,omitempty"`
}

func (d Dim) String() string {
	if d.Name != "" {
		return d.Name
	}
	return strconv.FormatInt(d.Size, 10)
}

func sym(n string) Dim     { return Dim{Name: n} }
func fixed(n int64) Dim    { return Dim{Size: n} }
func shape(d ...Dim) []Dim { return d }

// TensorSpec is one input or output of a contract signature.
type TensorSpec struct {
	Key   string `json:"key"`
	DType string `json:"dtype"` // float32 | int32 | int64 | bool
	// Shape is the rule; nil means a scalar. Scalars may also be exported
	// as one-element vectors ([1]).
	Shape    []Dim  `json:"shape"`
	Optional bool   `json:"optional,omitempty"`
	Doc      string `json:"doc"`
}

// ShapeString renders the rule, e.g. "[B, H, W, 3]" or "[]".
func (t TensorSpec) ShapeString() string {
	parts := make([]string, len(t.Shape))
	for i, d := range t.Shape {
		parts[i] = d.String()
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// Resolve returns the expected shape with the symbolic dimensions bound by
// s; dimensions s does not know are -1.
func (t TensorSpec) Resolve(s Sizes) []int64 {
	out := make([]int64, len(t.Shape))
	for i, d := range t.Shape {
		switch {
		case d.Name == "":
			out[i] = d.Size
		case s[d.Name] > 0:
			out[i] = s[d.Name]
		default:
			out[i] = -1
		}
	}
	return out
}

// CheckShape compares an exported shape (dims -1 where unknown; unknownRank
// when the export has no static rank) with the rule bound by s. An
// exported -1 is accepted where the rule is known: the runtime feeds the
// fixed size. The error says what differs.
func (t TensorSpec) CheckShape(got []int64, unknownRank bool, s Sizes) error {
	if unknownRank {
		return fmt.Errorf("%s has unknown rank, want %s", t.Key, t.ShapeString())
	}
	want := t.Resolve(s)
	if len(want) == 0 && len(got) == 1 && (got[0] == 1 || got[0] == -1) {
		return nil // a scalar exported as [1]
	}
	if len(got) != len(want) {
		return fmt.Errorf("%s has rank %d %v, want rank %d %s", t.Key, len(got), got, len(want), t.ShapeString())
	}
	for i := range want {
		if got[i] != -1 && want[i] != -1 && got[i] != want[i] {
			return fmt.Errorf("%s dimension %d (%s) is %d, want %d", t.Key, i, t.Shape[i], got[i], want[i])
		}
	}
	return nil
}

// SignatureSpec is one contract signature.
type SignatureSpec struct {
	Name string `json:"name"`
	// Aliases are other signature keys that must carry the same interface
	// (serving_default for predict).
	Aliases []string     `json:"aliases,omitempty"`
	Inputs  []TensorSpec `json:"inputs"`
	Outputs []TensorSpec `json:"outputs"`
	Doc     string       `json:"doc"`
}

// Input returns the input spec with key.
func (s SignatureSpec) Input(key string) (TensorSpec, bool) { return find(s.Inputs, key) }

// Output returns the output spec with key.
func (s SignatureSpec) Output(key string) (TensorSpec, bool) { return find(s.Outputs, key) }

func find(ts []TensorSpec, key string) (TensorSpec, bool) {
	for _, t := range ts {
		if t.Key == key {
			return t, true
		}
	}
	return TensorSpec{}, false
}

func dataInputs() []TensorSpec {
	return []TensorSpec{
		{Key: InputImage, DType: "float32", Shape: shape(sym(DimBatch), sym(DimHeight), sym(DimWidth), fixed(3)),
			Doc: "molded images: resized, padded, mean pixel subtracted"},
		{Key: InputImageMeta, DType: "float32", Shape: shape(sym(DimBatch), sym(DimMeta)),
			Doc: "id, original shape (3), image shape (3), window y1 x1 y2 x2, scale, active class ids"},
		{Key: InputRPNMatch, DType: "int32", Shape: shape(sym(DimBatch), sym(DimAnchors), fixed(1)),
			Doc: "per anchor: 1 positive, -1 negative, 0 neutral"},
		{Key: InputRPNBBox, DType: "float32", Shape: shape(sym(DimBatch), sym(DimRPNTrainAnchors), fixed(4)),
			Doc: "deltas of positive anchors, divided by RPN_BBOX_STD_DEV"},
		{Key: InputGTClassIDs, DType: "int32", Shape: shape(sym(DimBatch), sym(DimMaxGT)),
			Doc: "class per instance; 0 padding, negative crowd"},
		{Key: InputGTBoxes, DType: "float32", Shape: shape(sym(DimBatch), sym(DimMaxGT), fixed(4)),
			Doc: "y1 x1 y2 x2 in pixels of the molded image"},
		{Key: InputGTMasks, DType: "bool", Shape: shape(sym(DimBatch), sym(DimMaskHeight), sym(DimMaskWidth), sym(DimMaxGT)),
			Doc: "mini masks (MINI_MASK_SHAPE) or full masks"},
	}
}

func lossWeightsInput() TensorSpec {
	return TensorSpec{Key: InputLossWeights, DType: "float32", Shape: shape(fixed(5)),
		Doc: "weights of rpn_class, rpn_bbox, mrcnn_class, mrcnn_bbox, mrcnn_mask"}
}

func optionalScalarInputs() []TensorSpec {
	docs := map[string]string{
		InputWeightDecay:        "L2 weight decay factor",
		InputMomentum:           "SGD momentum",
		InputClipNorm:           "global gradient norm clip",
		InputRPNMinProposalSize: "proposals smaller than this many pixels on either side are dropped before ROI sampling",
	}
	var out []TensorSpec
	for _, k := range OptionalInputs() {
		out = append(out, TensorSpec{Key: k, DType: "float32", Optional: true, Doc: docs[k]})
	}
	return out
}

func lossOutputs() []TensorSpec {
	var out []TensorSpec
	for _, n := range LossNames {
		out = append(out, TensorSpec{Key: n, DType: "float32", Doc: "unweighted loss"})
	}
	return append(out, TensorSpec{Key: OutputTotalLoss, DType: "float32", Doc: "weighted sum of the losses plus regularisation"})
}

// Signatures returns the contract's signatures: train_step, eval_step and
// predict (also serving_default). Each call returns a fresh copy.
func Signatures() []SignatureSpec {
	train := SignatureSpec{
		Name: SignatureTrain,
		Doc:  "one optimisation step; variables are updated inside the graph",
		Inputs: append(append(dataInputs(),
			TensorSpec{Key: InputLearningRate, DType: "float32", Doc: "base learning rate of this step"},
			TensorSpec{Key: InputLRMultipliers, DType: "float32", Shape: shape(sym(DimVariables)),
				Doc: "one per variable in manifest order; 0 freezes the variable (no update of any kind)"},
			lossWeightsInput()),
			optionalScalarInputs()...),
		Outputs: append(lossOutputs(),
			TensorSpec{Key: OutputGradNorm, DType: "float32", Doc: "global gradient norm before clipping"},
			TensorSpec{Key: OutputVarGradNorms, DType: "float32", Shape: shape(sym(DimVariables)), Doc: "L2 norm of each variable's gradient"},
			TensorSpec{Key: OutputVarUpdateNorms, DType: "float32", Shape: shape(sym(DimVariables)), Doc: "L2 norm of each variable's change this step"},
			TensorSpec{Key: OutputStep, DType: "int64", Doc: "the model's own step counter"},
			TensorSpec{Key: OutputRPNPositiveAnchors, DType: "float32", Optional: true, Doc: "positive anchors per image"},
			TensorSpec{Key: OutputSmallProposalFrac, DType: "float32", Optional: true, Doc: "fraction of proposals under rpn_min_proposal_size"},
			TensorSpec{Key: OutputROIPositiveFraction, DType: "float32", Optional: true, Doc: "fraction of positive sampled ROIs"},
			TensorSpec{Key: OutputUpdateSkipped, DType: "bool", Optional: true, Doc: "true when the step's update was skipped (non-finite loss)"},
		),
	}
	eval := SignatureSpec{
		Name:    SignatureEval,
		Doc:     "validation loss; no variable changes",
		Inputs:  append(append(dataInputs(), lossWeightsInput()), optionalScalarInputs()...),
		Outputs: lossOutputs(),
	}
	predict := SignatureSpec{
		Name:    SignaturePredict,
		Aliases: []string{SignatureServing},
		Doc:     "inference with matterport's outputs",
		Inputs: []TensorSpec{
			dataInputs()[0], dataInputs()[1],
			{Key: InputAnchors, DType: "float32", Shape: shape(sym(DimBatch), sym(DimAnchors), fixed(4)), Doc: "anchors in normalised coordinates"},
		},
		Outputs: []TensorSpec{
			{Key: OutputDetections, DType: "float32", Shape: shape(sym(DimBatch), sym(DimDetections), fixed(6)),
				Doc: "y1 x1 y2 x2 class score, normalised"},
			{Key: OutputMasks, DType: "float32", Shape: shape(sym(DimBatch), sym(DimDetections), sym(DimHeadMaskHeight), sym(DimHeadMaskWidth), sym(DimNumClasses)),
				Doc: "per detection and class mask probabilities (MASK_SHAPE)"},
		},
	}
	return []SignatureSpec{train, eval, predict}
}

// Signature returns the contract signature called name (or aliased so).
func Signature(name string) (SignatureSpec, bool) {
	for _, s := range Signatures() {
		if s.Name == name {
			return s, true
		}
		for _, a := range s.Aliases {
			if a == name {
				return s, true
			}
		}
	}
	return SignatureSpec{}, false
}

// Sizes binds symbolic dimension names to numbers.
type Sizes map[string]int64

// Sizes returns the dimensions the model config fixes: B, H, W, META,
// NUM_CLASSES, RPN_TRAIN_ANCHORS_PER_IMAGE, MAX_GT_INSTANCES, MASK_H/W,
// MASK_SHAPE_H/W (when the asset gives MASK_SHAPE) and,
// when the anchor settings are complete, A. Unset values are left out.
func (m ModelConfig) Sizes() Sizes {
	s := Sizes{}
	set := func(k string, v int) {
		if v > 0 {
			s[k] = int64(v)
		}
	}
	set(DimBatch, m.BatchSize)
	if len(m.ImageShape) >= 2 {
		set(DimHeight, m.ImageShape[0])
		set(DimWidth, m.ImageShape[1])
	}
	set(DimNumClasses, m.NumClasses)
	if m.NumClasses > 0 {
		set(DimMeta, 12+m.NumClasses)
	}
	set(DimRPNTrainAnchors, m.RPNTrainAnchorsPerImage)
	set(DimMaxGT, m.MaxGTInstances)
	if m.UseMiniMask && len(m.MiniMaskShape) >= 2 {
		set(DimMaskHeight, m.MiniMaskShape[0])
		set(DimMaskWidth, m.MiniMaskShape[1])
	} else if !m.UseMiniMask && len(m.ImageShape) >= 2 {
		set(DimMaskHeight, m.ImageShape[0])
		set(DimMaskWidth, m.ImageShape[1])
	}
	if len(m.MaskShape) >= 2 {
		set(DimHeadMaskHeight, m.MaskShape[0])
		set(DimHeadMaskWidth, m.MaskShape[1])
	}
	set(DimAnchors, m.AnchorCount())
	return s
}

// AnchorCount is the number of anchors per image that matterport's
// generate_pyramid_anchors makes for IMAGE_SHAPE: per backbone stride, a
// feature map of ceil(H/stride) x ceil(W/stride), every RPN_ANCHOR_STRIDE-th
// cell, len(RPN_ANCHOR_RATIOS) anchors per cell. 0 when the settings are
// incomplete.
func (m ModelConfig) AnchorCount() int {
	if len(m.ImageShape) < 2 || m.ImageShape[0] <= 0 || m.ImageShape[1] <= 0 ||
		len(m.BackboneStrides) == 0 || len(m.RPNAnchorRatios) == 0 || m.RPNAnchorStride <= 0 {
		return 0
	}
	ceil := func(a, b int) int { return (a + b - 1) / b }
	n := 0
	for _, st := range m.BackboneStrides {
		if st <= 0 {
			return 0
		}
		fh, fw := ceil(m.ImageShape[0], st), ceil(m.ImageShape[1], st)
		n += ceil(fh, m.RPNAnchorStride) * ceil(fw, m.RPNAnchorStride) * len(m.RPNAnchorRatios)
	}
	return n
}
