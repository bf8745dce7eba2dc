// Package graphs owns the graftrain training contract: the signatures,
// inputs, outputs and assets a Mask R-CNN SavedModel must carry to be
// trained by graftrain. It is the single definition used by inspect, plan,
// the data pipeline and the trainer; graphs/python exports models to it.
package graphs

// ContractVersion is the version of the contract this code reads and checks.
const ContractVersion = 1

// Signature names of the contract.
const (
	SignatureTrain   = "train_step"
	SignatureEval    = "eval_step"
	SignaturePredict = "predict"
	SignatureServing = "serving_default"
)

// Data inputs of train_step and eval_step, in matterport's order.
const (
	InputImage      = "input_image"
	InputImageMeta  = "input_image_meta"
	InputRPNMatch   = "input_rpn_match"
	InputRPNBBox    = "input_rpn_bbox"
	InputGTClassIDs = "input_gt_class_ids"
	InputGTBoxes    = "input_gt_boxes"
	InputGTMasks    = "input_gt_masks"
	InputAnchors    = "input_anchors" // predict only
)

// Control inputs fed on every step.
const (
	InputLearningRate  = "learning_rate"
	InputLRMultipliers = "lr_multipliers"
	InputLossWeights   = "loss_weights"
)

// LossNames are matterport's five loss names, in the order of the
// loss_weights input and of every [5]float32 in graftrain.
var LossNames = [5]string{
	"rpn_class_loss",
	"rpn_bbox_loss",
	"mrcnn_class_loss",
	"mrcnn_bbox_loss",
	"mrcnn_mask_loss",
}

// Asset file names under the SavedModel's assets/ directory.
const (
	AssetContract  = "graftrain_contract.json"
	AssetVariables = "graftrain_variables.json"
)
