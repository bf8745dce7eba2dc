package eval_test

import (
	"context"
	"fmt"
	"os"

	"github.com/graftrain/graftrain/eval"
)

// A detection that covers its object at IoU 0.81 is a true positive at
// thresholds .50 to .80 and a false positive above: AP 7/10.
func ExampleEvaluate() {
	gt := &eval.GroundTruth{
		Images:      []eval.Image{{ID: 1, Height: 480, Width: 640}},
		Categories:  []eval.Category{{ID: 1, Name: "person"}},
		Annotations: []eval.Object{{ID: 1, ImageID: 1, CategoryID: 1, BBox: [4]float64{0, 0, 100, 100}, Area: 10000}},
	}
	dt := []eval.Detection{{ID: 1, ImageID: 1, CategoryID: 1, BBox: [4]float64{0, 0, 90, 90}, Score: 0.9, Area: 8100}}
	e, err := eval.Evaluate(context.Background(), gt, dt, eval.DefaultParams(eval.BBox), eval.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("AP %.3f, AP50 %.3f, AP75 %.3f\n", e.Stats()[0], e.Stats()[1], e.Stats()[2])
	_ = e.WriteSummary(os.Stdout)
	// Output:
	// AP 0.700, AP50 1.000, AP75 1.000
	//  Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.700
	//  Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=100 ] = 1.000
	//  Average Precision  (AP) @[ IoU=0.75      | area=   all | maxDets=100 ] = 1.000
	//  Average Precision  (AP) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = -1.000
	//  Average Precision  (AP) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = -1.000
	//  Average Precision  (AP) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = 0.700
	//  Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ] = 0.700
	//  Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets= 10 ] = 0.700
	//  Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.700
	//  Average Recall     (AR) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = -1.000
	//  Average Recall     (AR) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = -1.000
	//  Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = 0.700
}
