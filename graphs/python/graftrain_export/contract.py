"""The graftrain training contract, version 1, as the exporter writes it.

graphs/contract.go is the definition; a Go test checks that the names here
match it.
"""

CONTRACT_VERSION = 1

SIGNATURE_TRAIN = "train_step"
SIGNATURE_EVAL = "eval_step"
SIGNATURE_PREDICT = "predict"
SIGNATURE_SERVING = "serving_default"

DATA_INPUTS = (
    "input_image",
    "input_image_meta",
    "input_rpn_match",
    "input_rpn_bbox",
    "input_gt_class_ids",
    "input_gt_boxes",
    "input_gt_masks",
)
INPUT_ANCHORS = "input_anchors"
INPUT_LEARNING_RATE = "learning_rate"
INPUT_LR_MULTIPLIERS = "lr_multipliers"
INPUT_LOSS_WEIGHTS = "loss_weights"

OPTIONAL_INPUTS = ("weight_decay", "momentum", "clip_norm", "rpn_min_proposal_size")

LOSS_NAMES = (
    "rpn_class_loss",
    "rpn_bbox_loss",
    "mrcnn_class_loss",
    "mrcnn_bbox_loss",
    "mrcnn_mask_loss",
)

TRAIN_OUTPUTS = LOSS_NAMES + (
    "total_loss",
    "grad_norm",
    "var_grad_norms",
    "var_update_norms",
    "step",
)
OPTIONAL_OUTPUTS = (
    "rpn_positive_anchors",
    "small_proposal_fraction",
    "roi_positive_fraction",
    "update_skipped",
)

ASSET_CONTRACT = "graftrain_contract.json"
ASSET_VARIABLES = "graftrain_variables.json"
