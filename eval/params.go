package eval

import (
	"errors"
	"fmt"
	"math"
)

// IoUType selects what overlap is measured between detections and ground
// truth.
type IoUType string

// The IoU types COCOeval supports here.
const (
	BBox IoUType = "bbox"
	Segm IoUType = "segm"
)

// ParseIoUType returns the IoU type named s ("bbox" or "segm").
func ParseIoUType(s string) (IoUType, error) {
	switch IoUType(s) {
	case BBox, Segm:
		return IoUType(s), nil
	}
	return "", fmt.Errorf("unknown evaluation type %q: use bbox or segm", s)
}

// AreaRange is a named closed interval of object areas in pixels: an object
// of area a is inside when Min <= a <= Max.
type AreaRange struct {
	Label    string
	Min, Max float64
}

// Params are COCOeval's evaluation parameters. DefaultParams gives the
// values pycocotools uses; the twelve summary statistics are only defined
// for those.
type Params struct {
	Type IoUType
	// ImgIDs restricts evaluation to these images; nil means every image of
	// the ground truth. They are sorted and de-duplicated.
	ImgIDs []int64
	// CatIDs restricts evaluation to these categories; nil means every
	// category of the ground truth.
	CatIDs []int64
	// IoUThrs are the IoU thresholds (T), RecThrs the recall points (R).
	IoUThrs, RecThrs []float64
	// AreaRanges (A) and MaxDets (M, sorted before use) select objects and
	// the number of detections per image kept.
	AreaRanges []AreaRange
	MaxDets    []int
	// UseCats false ignores category labels, as in proposal scoring.
	UseCats bool
}

// linspace returns numpy.linspace(start, stop, num) bit for bit: each value
// is i*step+start with step=(stop-start)/(num-1) rounded to float64, and the
// last value is stop itself. The arithmetic runs on variables so that Go's
// exact constant folding cannot change the rounding.
func linspace(start, stop float64, num int) []float64 {
	out := make([]float64, num)
	if num == 1 {
		out[0] = start
		return out
	}
	step := (stop - start) / float64(num-1)
	for i := range out {
		out[i] = float64(i)*step + start
	}
	out[num-1] = stop
	return out
}

// count is pycocotools' number of points, round((stop-start)/step)+1, with
// numpy's round-half-to-even.
func count(start, stop, step float64) int {
	return int(math.RoundToEven((stop-start)/step)) + 1
}

// DefaultParams returns pycocotools' default parameters for t: IoU
// thresholds .50:.05:.95, 101 recall points, maxDets 1/10/100 and the area
// ranges all, small (< 32²), medium and large (> 96²).
func DefaultParams(t IoUType) Params {
	lo, hi, st := 0.5, 0.95, 0.05
	r0, r1, rs := 0.0, 1.0, 0.01
	return Params{
		Type:    t,
		IoUThrs: linspace(lo, hi, count(lo, hi, st)),
		RecThrs: linspace(r0, r1, count(r0, r1, rs)),
		AreaRanges: []AreaRange{
			{"all", 0, 1e5 * 1e5},
			{"small", 0, 32 * 32},
			{"medium", 32 * 32, 96 * 96},
			{"large", 96 * 96, 1e5 * 1e5},
		},
		MaxDets: []int{1, 10, 100},
		UseCats: true,
	}
}

// Validate reports every problem with p.
func (p *Params) Validate() error {
	var errs []error
	if _, err := ParseIoUType(string(p.Type)); err != nil {
		errs = append(errs, err)
	}
	if len(p.IoUThrs) == 0 {
		errs = append(errs, errors.New("params: IoUThrs is empty"))
	}
	if len(p.RecThrs) == 0 {
		errs = append(errs, errors.New("params: RecThrs is empty"))
	}
	if len(p.AreaRanges) == 0 {
		errs = append(errs, errors.New("params: AreaRanges is empty"))
	}
	if len(p.MaxDets) == 0 {
		errs = append(errs, errors.New("params: MaxDets is empty"))
	}
	for i, m := range p.MaxDets {
		if m <= 0 {
			errs = append(errs, fmt.Errorf("params: MaxDets[%d] = %d, want > 0", i, m))
		}
	}
	return errors.Join(errs...)
}
