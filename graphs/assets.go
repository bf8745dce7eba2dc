package graphs

// Variable is one entry of the variables manifest (assets/graftrain_variables.json),
// in the order train_step indexes lr_multipliers by.
type Variable struct {
	Index     int     `json:"index"`
	Path      string  `json:"path"`  // e.g. res4a_branch2a/kernel
	Layer     string  `json:"layer"` // Keras layer name, e.g. res4a_branch2a
	Shape     []int64 `json:"shape"`
	DType     string  `json:"dtype"` // float32
	Trainable bool    `json:"trainable"`
	BatchNorm bool    `json:"batch_norm"` // gamma, beta, moving_mean, moving_variance
}

// VariablesManifest is the content of assets/graftrain_variables.json.
type VariablesManifest struct {
	ContractVersion int        `json:"contract_version"`
	Model           string     `json:"model,omitempty"`
	Variables       []Variable `json:"variables"`
}

// ModelConfig is the matterport configuration an export fixed, in matterport's
// names; the data pipeline configures itself from it.
type ModelConfig struct {
	BatchSize               int       `json:"BATCH_SIZE"`
	NumClasses              int       `json:"NUM_CLASSES"`
	ClassNames              []string  `json:"CLASS_NAMES,omitempty"`
	ImageShape              []int     `json:"IMAGE_SHAPE"` // H, W, C
	ImageResizeMode         string    `json:"IMAGE_RESIZE_MODE"`
	ImageMinDim             int       `json:"IMAGE_MIN_DIM"`
	ImageMaxDim             int       `json:"IMAGE_MAX_DIM"`
	ImageMinScale           float64   `json:"IMAGE_MIN_SCALE"`
	RPNAnchorScales         []float64 `json:"RPN_ANCHOR_SCALES"`
	RPNAnchorRatios         []float64 `json:"RPN_ANCHOR_RATIOS"`
	BackboneStrides         []int     `json:"BACKBONE_STRIDES"`
	RPNAnchorStride         int       `json:"RPN_ANCHOR_STRIDE"`
	RPNTrainAnchorsPerImage int       `json:"RPN_TRAIN_ANCHORS_PER_IMAGE"`
	RPNBBoxStdDev           []float64 `json:"RPN_BBOX_STD_DEV"`
	MaxGTInstances          int       `json:"MAX_GT_INSTANCES"`
	UseMiniMask             bool      `json:"USE_MINI_MASK"`
	MiniMaskShape           []int     `json:"MINI_MASK_SHAPE"`
	MaskShape               []int     `json:"MASK_SHAPE,omitempty"`
	MeanPixel               []float64 `json:"MEAN_PIXEL"`
	Backbone                string    `json:"BACKBONE"`
}

// ContractAsset is the content of assets/graftrain_contract.json.
type ContractAsset struct {
	ContractVersion int         `json:"contract_version"`
	Model           ModelConfig `json:"model"`
	// OptionalInputs and OptionalOutputs name the optional contract keys the
	// export has (weight_decay, momentum, clip_norm, rpn_min_proposal_size;
	// rpn_positive_anchors, small_proposal_fraction, roi_positive_fraction).
	OptionalInputs  []string          `json:"optional_inputs,omitempty"`
	OptionalOutputs []string          `json:"optional_outputs,omitempty"`
	Optimizer       string            `json:"optimizer"` // sgd-momentum | adam
	TrainBN         bool              `json:"train_bn"`
	Exporter        map[string]string `json:"exporter,omitempty"` // component -> version
}
