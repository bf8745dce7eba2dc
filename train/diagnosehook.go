package train

import (
	"context"
	"fmt"

	"github.com/graftrain/graftrain/diagnose"
)

// PriorityDiagnose runs live diagnosis after the metrics are recorded and
// before the checkpoint, so a policy's stop still gets its checkpoint.
const PriorityDiagnose = PriorityMetrics + 5

// PlateauStopError stops a run whose plateau policy is stop (or
// next_stage in the last stage). The checkpoint hook writes a final
// checkpoint as for any early stop.
type PlateauStopError struct {
	Step  int64  // the step the policy acted at
	Since int64  // first step of the plateau
	Stage string // the stage on the plateau
}

func (e *PlateauStopError) Error() string {
	return fmt.Sprintf("stopped at step %d by diagnose.on_plateau: the total loss of stage %s has not fallen since step %d", e.Step, e.Stage, e.Since)
}

// LiveDiagnosis is the hook that feeds every step's metrics row to a
// diagnose.Monitor: each new finding is logged as a warning once, and the
// plateau policy's action is applied to the plan — reduce_lr multiplies
// the current stage's base learning rate, next_stage ends the stage now
// and hands its remaining steps to the next one, stop stops the run.
// These changes live in memory only: a resumed run starts from the
// config's plan again.
func LiveDiagnosis(m *diagnose.Monitor, dryRun bool) Hook {
	return Hook{
		Name:     "diagnose",
		Priority: PriorityDiagnose,
		OnStep: func(ctx context.Context, l *Loop, info *StepInfo) error {
			var weights []float32
			if wn, ok := l.Runner.(WeightNormer); ok {
				weights = wn.VarWeightNorms()
			}
			if info.Val != nil {
				m.Observe(ValRow(info, dryRun))
			}
			fs, a := m.Observe(TrainRow(l.Plan, info, weights, dryRun))
			for _, f := range fs {
				ev := l.Log.Warn().Str("finding", f.ID).Str("severity", f.Severity.String()).Int64("step", info.Step).
					Int64("first_step", f.FirstStep).Float64("confidence", f.Confidence)
				if f.Subject != "" {
					ev = ev.Str("subject", f.Subject)
				}
				if len(f.Fix) > 0 {
					ev = ev.Str("fix", f.SetArgs())
				}
				ev.Msg(f.Title)
			}
			return applyPlateauAction(l, info, a)
		},
	}
}

func applyPlateauAction(l *Loop, info *StepInfo, a diagnose.Action) error {
	if a.Kind == "" {
		return nil
	}
	si := info.StageIndex
	st := &l.Plan.Stages[si]
	log := l.Log.Warn().Str("stage", st.Name).Int64("step", info.Step).Int64("plateau_since", a.Since).Str("on_plateau", a.Kind)
	switch a.Kind {
	case diagnose.PolicyWarn:
		log.Msg("the total loss is on a plateau")
	case diagnose.PolicyReduceLR:
		old := st.Schedule.Base
		st.Schedule.Base *= a.Factor
		log.Float64("learning_rate", st.Schedule.Base).Float64("was", old).Msg("plateau: learning rate reduced")
	case diagnose.PolicyNextStage:
		if si+1 >= len(l.Plan.Stages) {
			log.Msg("plateau in the last stage: stopping")
			l.Stop(&PlateauStopError{Step: info.Step, Since: a.Since, Stage: st.Name})
			return nil
		}
		// The loop's end step is fixed, so the next stage inherits the
		// steps this one had left.
		done := info.StageStep + 1
		left := st.Steps - done
		next := &l.Plan.Stages[si+1]
		st.Steps = done
		next.Steps += left
		next.Schedule.Steps += left
		log.Str("next_stage", next.Name).Int64("next_stage_steps", next.Steps).Msg("plateau: moving to the next stage")
	case diagnose.PolicyStop:
		log.Msg("plateau: stopping")
		l.Stop(&PlateauStopError{Step: info.Step, Since: a.Since, Stage: st.Name})
	}
	return nil
}
