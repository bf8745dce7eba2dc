package eval

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
)

// ResultError locates a problem in a results file: the 0-based index of the
// detection in the array and its line and column.
type ResultError struct {
	Index     int
	Line, Col int
	Err       error
}

func (e *ResultError) Error() string {
	if e.Index < 0 {
		return fmt.Sprintf("line %d, column %d: %v", e.Line, e.Col, e.Err)
	}
	return fmt.Sprintf("detection %d (line %d, column %d): %v", e.Index, e.Line, e.Col, e.Err)
}

func (e *ResultError) Unwrap() error { return e.Err }

// ErrUnknownImage is wrapped by the error for a detection whose image_id is
// not an image of the ground truth.
var ErrUnknownImage = errors.New("image_id is not an image of the ground truth")

// maxReported bounds how many bad detections one error lists.
const maxReported = 10

type rawDetection struct {
	ImageID      json.RawMessage `json:"image_id"`
	CategoryID   json.RawMessage `json:"category_id"`
	BBox         json.RawMessage `json:"bbox"`
	Score        json.RawMessage `json:"score"`
	Segmentation json.RawMessage `json:"segmentation"`
}

// LoadResults reads a COCO results file (a JSON array of detections) for
// gt; see ParseResults.
func LoadResults(path string, gt *GroundTruth) ([]Detection, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read results: %w", err)
	}
	d, err := ParseResults(b, gt)
	if err != nil {
		return nil, fmt.Errorf("results %s: %w", path, err)
	}
	return d, nil
}

// ParseResults decodes a COCO results array with pycocotools' loadRes rules.
// The first detection decides the kind of every one: with a non-empty bbox
// they are box results (area = width*height, a segmentation is kept if
// given); otherwise mask results (area from the mask, bbox from the mask
// unless given). Detections get ids 1..N in file order and are never crowd.
// Every detection must name an image of gt and have a finite score;
// categories outside gt are kept and later ignored, as pycocotools does.
// Mask results may be compressed RLE (pycocotools' format), uncompressed RLE
// or polygons. Errors name the detection, its line and column; up to ten
// bad detections are reported together.
func ParseResults(b []byte, gt *GroundTruth) ([]Detection, error) {
	images := make(map[int64]Image, len(gt.Images))
	for _, im := range gt.Images {
		images[im.ID] = im
	}
	// Fast path: one decode of the whole array, detections converted in
	// parallel. On any problem the streaming reader below runs instead and
	// reports it with its position.
	var raws []rawDetection
	if err := json.Unmarshal(b, &raws); err != nil || raws == nil {
		return parseResultsLocated(b, images)
	}
	if len(raws) == 0 {
		return []Detection{}, nil
	}
	boxes := len(raws[0].BBox) > 0 && !isEmptyArray(raws[0].BBox)
	if !boxes && len(raws[0].Segmentation) == 0 {
		return parseResultsLocated(b, images)
	}
	dets := make([]Detection, len(raws))
	var failed atomic.Bool
	parallel(len(raws), func(lo, hi int) {
		for i := lo; i < hi && !failed.Load(); i++ {
			d, err := raws[i].detection(int64(i+1), boxes, images)
			if err != nil {
				failed.Store(true)
				return
			}
			dets[i] = d
		}
	})
	if failed.Load() {
		return parseResultsLocated(b, images)
	}
	return dets, nil
}

// parallel runs fn over [0, n) split into one contiguous chunk per CPU.
func parallel(n int, fn func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), max(1, n/1024))
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := n*w/workers, n*(w+1)/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	wg.Wait()
}

// parseResultsLocated reads the results array one detection at a time,
// keeping each one's position for error messages.
func parseResultsLocated(b []byte, images map[int64]Image) ([]Detection, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return nil, locateAt(b, dec.InputOffset(), -1, fmt.Errorf("want a JSON array of detections: %w", err))
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, locateAt(b, 0, -1, fmt.Errorf("want a JSON array of detections, found %v", tok))
	}
	dets := []Detection{}
	var (
		errs   []error
		nbad   int
		boxes  bool
		kindOK bool
	)
	for i := 0; dec.More(); i++ {
		start := skipSpace(b, dec.InputOffset())
		var r rawDetection
		if err := dec.Decode(&r); err != nil {
			var se *json.SyntaxError
			if errors.As(err, &se) {
				// The decoder's offsets are relative to the value; a whole
				// scan gives the position in the file.
				var whole any
				if errors.As(json.Unmarshal(b, &whole), &se) {
					err = se
				}
				errs = append(errs, locateAt(b, max(se.Offset-1, 0), i, err))
			} else {
				errs = append(errs, locateAt(b, start, i, fmt.Errorf("want an object with image_id, category_id, score and bbox or segmentation: %w", err)))
			}
			return nil, errors.Join(errs...)
		}
		if !kindOK {
			kindOK = true
			switch {
			case len(r.BBox) > 0 && !isEmptyArray(r.BBox):
				boxes = true
			case len(r.Segmentation) > 0:
			default:
				return nil, locateAt(b, start, i, errors.New("neither bbox nor segmentation: cannot tell box from mask results"))
			}
		}
		d, err := r.detection(int64(i+1), boxes, images)
		if err != nil {
			nbad++
			if len(errs) < maxReported {
				errs = append(errs, locateAt(b, start, i, err))
			}
			continue
		}
		dets = append(dets, d)
	}
	if _, err := dec.Token(); err != nil {
		errs = append(errs, locateAt(b, dec.InputOffset(), -1, fmt.Errorf("results array: %w", err)))
	}
	if nbad > maxReported {
		errs = append(errs, fmt.Errorf("and %d more bad detections", nbad-maxReported))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return dets, nil
}

func (r *rawDetection) detection(id int64, boxes bool, images map[int64]Image) (Detection, error) {
	d := Detection{ID: id}
	var err error
	if d.ImageID, err = parseID(r.ImageID); err != nil {
		return d, fmt.Errorf("image_id: %w", err)
	}
	im, ok := images[d.ImageID]
	if !ok {
		return d, fmt.Errorf("%w: %d", ErrUnknownImage, d.ImageID)
	}
	if d.CategoryID, err = parseID(r.CategoryID); err != nil {
		return d, fmt.Errorf("category_id: %w", err)
	}
	if d.Score, err = parseNumber(r.Score); err != nil {
		return d, fmt.Errorf("score: %w", err)
	}
	hasBox := len(r.BBox) > 0 && !isNull(r.BBox)
	if hasBox || boxes {
		if d.BBox, err = parseBox(r.BBox); err != nil {
			return d, fmt.Errorf("bbox: %w", err)
		}
	}
	if len(r.Segmentation) > 0 && !isNull(r.Segmentation) {
		d.Segmentation = r.Segmentation
	}
	if boxes {
		d.Area = d.BBox[2] * d.BBox[3]
		return d, nil
	}
	if d.Segmentation == nil {
		return d, errors.New("no segmentation (mask results need one in every detection)")
	}
	m, c, err := parseSegmentation(d.Segmentation, im)
	if err != nil {
		return d, fmt.Errorf("segmentation: %w", err)
	}
	d.compact = c
	d.Area = float64(m.Area())
	if !hasBox {
		d.BBox = m.ToBBox()
	}
	return d, nil
}

func parseNumber(raw json.RawMessage) (float64, error) {
	s := bytes.TrimSpace(raw)
	if len(s) == 0 || string(s) == "null" {
		return 0, errors.New("missing")
	}
	// s is one valid JSON value (the decoder checked); it is a number
	// exactly when it starts with a digit or a minus sign.
	if c := s[0]; c != '-' && (c < '0' || c > '9') {
		return 0, fmt.Errorf("%s is not a number", truncate(s))
	}
	f, err := strconv.ParseFloat(string(s), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, fmt.Errorf("%s is not a number", truncate(s))
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%s is not finite", s)
	}
	return f, nil
}

func parseBox(raw json.RawMessage) ([4]float64, error) {
	var bb [4]float64
	var v []json.RawMessage
	if err := json.Unmarshal(raw, &v); err != nil {
		return bb, fmt.Errorf("%s is not an array [x, y, width, height]", truncate(raw))
	}
	if len(v) != 4 {
		return bb, fmt.Errorf("has %d numbers, want 4 (x, y, width, height)", len(v))
	}
	for i, e := range v {
		f, err := parseNumber(e)
		if err != nil {
			return bb, fmt.Errorf("element %d: %w", i, err)
		}
		bb[i] = f
	}
	return bb, nil
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

func isEmptyArray(raw json.RawMessage) bool {
	var v []json.RawMessage
	return json.Unmarshal(raw, &v) == nil && v != nil && len(v) == 0
}

func truncate(b []byte) string {
	const n = 40
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

func skipSpace(b []byte, off int64) int64 {
	for off < int64(len(b)) {
		switch b[off] {
		case ' ', '\t', '\n', '\r', ',':
			off++
			continue
		}
		break
	}
	return off
}

func locateAt(b []byte, off int64, index int, err error) error {
	line, col := lineCol(b, off)
	return &ResultError{Index: index, Line: line, Col: col, Err: err}
}
