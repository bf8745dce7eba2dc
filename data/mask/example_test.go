package mask_test

import (
	"fmt"

	"github.com/graftrain/graftrain/data/mask"
)

func ExampleFromPolygon() {
	// A triangle in a 4×4 image, rasterised as pycocotools does.
	r, err := mask.FromPolygon([]float64{0, 0, 4, 0, 0, 4}, 4, 4)
	if err != nil {
		fmt.Println(err)
		return
	}
	m, _ := mask.Decode(r)
	for y := 0; y < 4; y++ {
		for x := 0; x < 4; x++ {
			if m[y*4+x] {
				fmt.Print("#")
			} else {
				fmt.Print(".")
			}
		}
		fmt.Println()
	}
	fmt.Println(r.Counts, r.String(), r.Area(), r.ToBBox())
	// Output:
	// ###.
	// ##..
	// #...
	// ....
	// [0 3 1 2 2 1 7] 031O1O5 6 [0 0 3 3]
}

func ExampleIoU() {
	gt, _ := mask.FromBBox(mask.BBox{0, 0, 4, 4}, 8, 8)
	dt, _ := mask.FromBBox(mask.BBox{2, 0, 4, 4}, 8, 8)
	fmt.Println(mask.IoU([]mask.RLE{dt}, []mask.RLE{gt}, []bool{false}))
	fmt.Println(mask.IoU([]mask.RLE{dt}, []mask.RLE{gt}, []bool{true}))
	// Output:
	// [[0.3333333333333333]]
	// [[0.5]]
}
