package coco

import (
	"fmt"

	"github.com/graftrain/graftrain/data/mask"
)

// RLEs returns the instance masks of s at the image size, as matterport's
// load_mask builds them, in run-length form: polygons rasterised at
// Height×Width and merged, RLEs as given; an instance without a pixel is
// left out; a crowd RLE whose size differs from the image's becomes all
// ones. classIDs are the instances' class ids, negative for crowds.
func (s *Sample) RLEs() (rles []mask.RLE, classIDs []int32, err error) {
	rles = make([]mask.RLE, 0, len(s.Instances))
	classIDs = make([]int32, 0, len(s.Instances))
	for _, in := range s.Instances {
		r, err := in.Segmentation.ToRLE(s.Height, s.Width)
		if err != nil {
			return nil, nil, fmt.Errorf("image %d, annotation %d: %w", s.ImageID, in.AnnotationID, err)
		}
		if r.Area() < 1 {
			continue
		}
		if r.H != s.Height || r.W != s.Width {
			if !in.Crowd {
				return nil, nil, fmt.Errorf("image %d, annotation %d: mask is %d×%d, image is %d×%d", s.ImageID, in.AnnotationID, r.H, r.W, s.Height, s.Width)
			}
			r = mask.RLE{H: s.Height, W: s.Width, Counts: []uint32{0, uint32(s.Height * s.Width)}}
		}
		rles = append(rles, r)
		classIDs = append(classIDs, int32(in.ClassID))
	}
	return rles, classIDs, nil
}

// Masks returns the full-size instance masks of s (see RLEs) decoded: one
// row-major Height×Width mask per instance, and the class ids.
func (s *Sample) Masks() (masks [][]bool, classIDs []int32, err error) {
	rles, classIDs, err := s.RLEs()
	if err != nil {
		return nil, nil, err
	}
	masks = make([][]bool, len(rles))
	flat := make([]bool, len(rles)*s.Height*s.Width)
	for i, r := range rles {
		masks[i] = flat[i*s.Height*s.Width : (i+1)*s.Height*s.Width]
		if err := r.DecodeInto(masks[i]); err != nil {
			return nil, nil, fmt.Errorf("image %d, instance %d: %w", s.ImageID, i, err)
		}
	}
	return masks, classIDs, nil
}
