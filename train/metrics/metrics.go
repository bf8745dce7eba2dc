// Package metrics owns the rows of a run's metrics.jsonl: one JSON object
// per training step, validation pass or evaluation. The training loop writes
// them; diagnose and the report read them.
package metrics

// Kinds of rows.
const (
	KindTrain = "train" // one optimisation step
	KindVal   = "val"   // validation losses (eval_step over the val split)
	KindEval  = "eval"  // COCO AP numbers
)

// Row is one line of metrics.jsonl. Loss maps are keyed by matterport's
// loss names (graphs.LossNames); group maps by variable group name.
type Row struct {
	Kind       string `json:"kind"`
	Time       string `json:"time,omitempty"` // RFC 3339
	Step       int64  `json:"step"`           // global step after this step
	Stage      string `json:"stage"`
	StageIndex int    `json:"stage_index"`
	StageStep  int64  `json:"stage_step"` // steps into the stage
	Epoch      int    `json:"epoch"`
	DryRun     bool   `json:"dry_run,omitempty"`

	LR             float64            `json:"lr,omitempty"`
	Losses         map[string]float64 `json:"losses,omitempty"`          // unweighted
	WeightedLosses map[string]float64 `json:"weighted_losses,omitempty"` // times loss weight
	LossWeights    map[string]float64 `json:"loss_weights,omitempty"`
	TotalLoss      float64            `json:"total_loss"`
	GradNorm       float64            `json:"grad_norm,omitempty"`
	ClipNorm       float64            `json:"clip_norm,omitempty"`  // 0: no clipping
	NonFinite      bool               `json:"non_finite,omitempty"` // step discarded

	// Per group: L2 norm over the group's variables of the gradients and
	// of the applied updates, the group's weight norm, and the LR multiplier.
	GroupGradNorms   map[string]float64 `json:"group_grad_norms,omitempty"`
	GroupUpdateNorms map[string]float64 `json:"group_update_norms,omitempty"`
	GroupWeightNorms map[string]float64 `json:"group_weight_norms,omitempty"`
	GroupLRMult      map[string]float64 `json:"group_lr_multipliers,omitempty"`

	// Optional model outputs (rpn_positive_anchors, small_proposal_fraction,
	// roi_positive_fraction).
	Extra map[string]float64 `json:"extra,omitempty"`

	DataWaitSeconds float64 `json:"data_wait_s,omitempty"`
	StepSeconds     float64 `json:"step_s,omitempty"`
	ImagesPerSecond float64 `json:"images_per_s,omitempty"`

	// Eval rows: COCO stats by name (bbox_ap, bbox_ap50, segm_ap, ...).
	Eval map[string]float64 `json:"eval,omitempty"`
}
