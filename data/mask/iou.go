package mask

// IoU returns the intersection over union of every detection in dt with
// every ground truth in gt as pycocotools' mask.iou(dt, gt, iscrowd) does:
// out[d][g]. Where iscrowd[g] is true the union is the detection's area
// alone (a detection inside a crowd region scores 1). Pairs whose sizes
// differ get -1. iscrowd may be nil (no crowds); otherwise it has len(gt)
// entries.
//
// Runs are walked directly, never decoded; pairs whose boxes do not overlap
// are skipped, as in maskApi.
func IoU(dt, gt []RLE, iscrowd []bool) [][]float64 {
	out := make([][]float64, len(dt))
	flat := make([]float64, len(dt)*len(gt))
	for d := range out {
		out[d] = flat[d*len(gt) : (d+1)*len(gt)]
	}
	IoUInto(out, dt, gt, iscrowd)
	return out
}

// IoUInto is IoU writing into out, which has len(dt) rows of len(gt).
func IoUInto(out [][]float64, dt, gt []RLE, iscrowd []bool) {
	db := make([]BBox, len(dt))
	for i, r := range dt {
		db[i] = r.ToBBox()
	}
	gb := make([]BBox, len(gt))
	for i, r := range gt {
		gb[i] = r.ToBBox()
	}
	BBoxIoUInto(out, db, gb, iscrowd)
	for g := range gt {
		crowd := iscrowd != nil && iscrowd[g]
		for d := range dt {
			if out[d][g] <= 0 {
				continue
			}
			if dt[d].H != gt[g].H || dt[d].W != gt[g].W {
				out[d][g] = -1
				continue
			}
			out[d][g] = PairIoU(dt[d], gt[g], crowd)
		}
	}
}

// PairIoU is the IoU of one detection with one ground truth of the same
// size; with crowd set the union is the detection's area. It does not apply
// the box prefilter of IoU, which gives the same value.
func PairIoU(dt, gt RLE, crowd bool) float64 {
	a, b := dt.Counts, gt.Counts
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	ca, cb := a[0], b[0]
	va, vb := false, false
	ia, ib := 1, 1
	var inter, union uint64
	// A do-while as in maskApi: both masks may start with an empty run.
	for more := true; more; more = ca > 0 || cb > 0 {
		c := min(ca, cb)
		if va || vb {
			union += uint64(c)
			if va && vb {
				inter += uint64(c)
			}
		}
		ca -= c
		if ca == 0 && ia < len(a) {
			ca = a[ia]
			ia++
			va = !va
		}
		cb -= c
		if cb == 0 && ib < len(b) {
			cb = b[ib]
			ib++
			vb = !vb
		}
	}
	if inter == 0 {
		return 0
	}
	if crowd {
		union = uint64(dt.Area())
	}
	return float64(inter) / float64(union)
}

// BBoxIoU returns the IoU of every box in dt with every box in gt as
// pycocotools' mask.iou does for boxes: out[d][g], the union being the
// detection's area where iscrowd[g] is true. iscrowd may be nil.
func BBoxIoU(dt, gt []BBox, iscrowd []bool) [][]float64 {
	out := make([][]float64, len(dt))
	flat := make([]float64, len(dt)*len(gt))
	for d := range out {
		out[d] = flat[d*len(gt) : (d+1)*len(gt)]
	}
	BBoxIoUInto(out, dt, gt, iscrowd)
	return out
}

// BBoxIoUInto is BBoxIoU writing into out, which has len(dt) rows of len(gt).
func BBoxIoUInto(out [][]float64, dt, gt []BBox, iscrowd []bool) {
	for g, G := range gt {
		ga := G[2] * G[3]
		crowd := iscrowd != nil && iscrowd[g]
		for d, D := range dt {
			out[d][g] = 0
			w := min(D[2]+D[0], G[2]+G[0]) - max(D[0], G[0])
			if w <= 0 {
				continue
			}
			h := min(D[3]+D[1], G[3]+G[1]) - max(D[1], G[1])
			if h <= 0 {
				continue
			}
			i := w * h
			da := D[2] * D[3]
			u := da + ga - i
			if crowd {
				u = da
			}
			out[d][g] = i / u
		}
	}
}
