package stage

// WarningKind names a finding that does not stop a plan.
type WarningKind string

const (
	// WarnUnmatched: variables in no group, frozen because
	// train.unmatched_variables is freeze.
	WarnUnmatched WarningKind = "unmatched_variables"
	// WarnEmptyGroup: a group whose regex matches no variable.
	WarnEmptyGroup WarningKind = "empty_group"
	// WarnBatchNormTrains: variables that look like BatchNorm parameters
	// (…/gamma, …/beta, …/moving_mean, …/moving_variance) but are not
	// flagged batch_norm in the manifest train while train_bn is false.
	WarnBatchNormTrains WarningKind = "batch_norm_trains"
	// WarnSameAsPrevious: a stage trains exactly the variables the
	// previous stage trains.
	WarnSameAsPrevious WarningKind = "same_as_previous"
	// WarnUnusedMultiplier: lr_multipliers names a group that does not
	// train in the stage.
	WarnUnusedMultiplier WarningKind = "unused_multiplier"
	// WarnNotTrainable: the stage selects variables the model marks
	// non-trainable (other than BatchNorm statistics); they stay frozen.
	WarnNotTrainable WarningKind = "not_trainable"
)

// Warning is one finding of Build.
type Warning struct {
	Kind      WarningKind `json:"kind"`
	Stage     string      `json:"stage,omitempty"`
	Group     string      `json:"group,omitempty"`
	Variables []string    `json:"variables,omitempty"`
	Message   string      `json:"message"`
}
