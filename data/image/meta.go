package image

// MetaLength is the length of compose_image_meta's row for numClasses
// classes (background included).
func MetaLength(numClasses int) int { return 12 + numClasses }

// ComposeMeta writes matterport's compose_image_meta row into dst: image
// id, original shape (3), image shape (3), window (4), scale, then the
// active class ids (1 for every class of the dataset's single source).
func ComposeMeta(dst []float32, id int, g Geometry, active []bool) {
	vals := []float64{float64(id), float64(g.OrigH), float64(g.OrigW), 3, float64(g.OutH), float64(g.OutW), 3,
		float64(g.Window[0]), float64(g.Window[1]), float64(g.Window[2]), float64(g.Window[3]), g.Scale}
	for i, v := range vals {
		dst[i] = float32(v)
	}
	for i, a := range active {
		if a {
			dst[12+i] = 1
		} else {
			dst[12+i] = 0
		}
	}
}

// Mold is mold_image: each pixel minus the mean pixel in float64, stored as
// float32, into dst (H×W×3).
func Mold(dst []float32, img *RGB, mean [3]float64) {
	t := moldTable(mean)
	src := img.Pix
	dst = dst[:len(src)]
	for i := 0; i+2 < len(src); i += 3 {
		d := dst[i : i+3 : i+3]
		s := src[i : i+3 : i+3]
		d[0] = t[0][s[0]]
		d[1] = t[1][s[1]]
		d[2] = t[2][s[2]]
	}
}

// moldTable holds float32(v - mean[c]) for every channel c and byte v: the
// same values the per-pixel float64 subtraction gives, looked up.
func moldTable(mean [3]float64) *[3][256]float32 {
	var t [3][256]float32
	for c := range t {
		for v := range t[c] {
			t[c][v] = float32(float64(v) - mean[c])
		}
	}
	return &t
}

// MoldFlipped is Mold of the left-right mirror of img (np.fliplr then
// mold_image) without flipping img itself.
func MoldFlipped(dst []float32, img *RGB, mean [3]float64) {
	t := moldTable(mean)
	w3 := img.W * 3
	for y := 0; y < img.H; y++ {
		src := img.Pix[y*w3 : (y+1)*w3]
		d := dst[y*w3 : (y+1)*w3]
		for x, j := 0, w3-3; x < w3; x, j = x+3, j-3 {
			s := src[j : j+3]
			o := d[x : x+3]
			o[0] = t[0][s[0]]
			o[1] = t[1][s[1]]
			o[2] = t[2][s[2]]
		}
	}
}
