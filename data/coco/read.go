package coco

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
)

// Read decodes a COCO instances JSON document from r, streaming: images,
// annotations and categories are decoded one entry at a time, so memory is
// the decoded result plus one entry. It checks the document's structure
// (duplicate ids, annotations naming unknown images or categories,
// malformed polygons and RLEs, image sizes) and returns *Error values that
// locate each problem by byte offset (joined with errors.Join when there
// are several). ctx is checked between entries.
func Read(ctx context.Context, r io.Reader) (*File, error) {
	f, errs := read(ctx, r)
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	return f, nil
}

// ReadFile reads the COCO instances JSON file at path (see Read); errors
// carry the file name, line and column.
func ReadFile(ctx context.Context, path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read COCO annotations: %w", err)
	}
	defer fh.Close()
	f, errs := read(ctx, fh)
	if len(errs) == 0 {
		return f, nil
	}
	var located []*Error
	for _, e := range errs {
		var le *Error
		if errors.As(e, &le) {
			le.File = path
			located = append(located, le)
		}
	}
	if _, err := fh.Seek(0, io.SeekStart); err == nil {
		locate(fh, located)
	}
	return nil, joinErrors(errs)
}

func joinErrors(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

// offsets remembers where each entry starts, for located validation errors.
type offsets struct {
	images, annotations, categories []int64
}

func read(ctx context.Context, r io.Reader) (*File, []error) {
	dec := json.NewDecoder(r)
	f := &File{}
	var off offsets
	var probs problems
	fatal := func(err error) (*File, []error) {
		return nil, []error{err}
	}
	tok, err := dec.Token()
	if err != nil {
		return fatal(syntaxError(dec, "", err))
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fatal(&Error{Offset: 0, Err: fmt.Errorf("%w: the document is not a JSON object (found %v)", ErrSyntax, tok)})
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fatal(syntaxError(dec, "", err))
		}
		key, _ := tok.(string)
		if seen[key] && (key == "images" || key == "annotations" || key == "categories") {
			return fatal(&Error{Offset: dec.InputOffset(), Where: key, Err: fmt.Errorf("%w: key %q appears twice", ErrSyntax, key)})
		}
		seen[key] = true
		switch key {
		case "images":
			err = readArray(ctx, dec, key, &probs, func(i int, start int64) {
				var raw rawImage
				if err := dec.Decode(&raw); err != nil {
					probs.add(start, fmt.Sprintf("images[%d]", i), entryError(err))
					return
				}
				f.Images = append(f.Images, Image{ID: int64(raw.ID), FileName: raw.FileName, Width: int(raw.Width), Height: int(raw.Height)})
				off.images = append(off.images, start)
			})
		case "annotations":
			err = readArray(ctx, dec, key, &probs, func(i int, start int64) {
				var a rawAnnotation
				if err := dec.Decode(&a); err != nil {
					where := fmt.Sprintf("annotations[%d]", i)
					if a.ID != 0 {
						where += fmt.Sprintf(" (id %d)", a.ID)
					}
					probs.add(start, where, entryError(err))
					return
				}
				if len(a.BBox) != 4 && a.BBox != nil {
					probs.add(start, fmt.Sprintf("annotations[%d] (id %d)", i, a.ID), fmt.Errorf("%w: bbox has %d numbers, want 4 (x, y, w, h)", ErrSyntax, len(a.BBox)))
					return
				}
				f.Annotations = append(f.Annotations, a.annotation())
				off.annotations = append(off.annotations, start)
			})
		case "categories":
			err = readArray(ctx, dec, key, &probs, func(i int, start int64) {
				var raw rawCategory
				if err := dec.Decode(&raw); err != nil {
					probs.add(start, fmt.Sprintf("categories[%d]", i), entryError(err))
					return
				}
				f.Categories = append(f.Categories, Category{ID: int64(raw.ID), Name: raw.Name, Supercategory: raw.Supercategory})
				off.categories = append(off.categories, start)
			})
		default:
			err = skipValue(dec)
			if err != nil {
				err = syntaxError(dec, key, err)
			}
		}
		if err != nil {
			return fatal(err)
		}
	}
	if _, err := dec.Token(); err != nil {
		return fatal(syntaxError(dec, "", err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return fatal(&Error{Offset: dec.InputOffset(), Err: fmt.Errorf("%w: data after the top-level object", ErrSyntax)})
	}
	for _, k := range []string{"images", "annotations", "categories"} {
		if !seen[k] {
			probs.add(-1, "", fmt.Errorf("%w: no %q key", ErrSyntax, k))
		}
	}
	validate(f, &off, &probs)
	if len(probs.list) > 0 {
		errs := make([]error, 0, len(probs.list)+1)
		for _, e := range probs.list {
			errs = append(errs, e)
		}
		if probs.extra > 0 {
			errs = append(errs, fmt.Errorf("and %d more problems", probs.extra))
		}
		return nil, errs
	}
	return f, nil
}

// readArray walks the array value of key, calling entry for each element
// with its index and the byte offset before it.
func readArray(ctx context.Context, dec *json.Decoder, key string, probs *problems, entry func(i int, start int64)) error {
	tok, err := dec.Token()
	if err != nil {
		return syntaxError(dec, key, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return &Error{Offset: dec.InputOffset(), Where: key, Err: fmt.Errorf("%w: %q must be an array", ErrSyntax, key)}
	}
	for i := 0; dec.More(); i++ {
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		start := dec.InputOffset()
		n := len(probs.list)
		entry(i, start)
		if len(probs.list) > n {
			// A syntax error leaves the decoder unusable: stop here.
			var se *json.SyntaxError
			if errors.As(probs.list[n].Err, &se) || errors.Is(probs.list[n].Err, io.ErrUnexpectedEOF) {
				e := probs.list[n]
				probs.list = probs.list[:n]
				return syntaxError(dec, e.Where, e.Err)
			}
		}
	}
	if _, err := dec.Token(); err != nil {
		return syntaxError(dec, key, err)
	}
	return nil
}

// entryError keeps JSON syntax errors recognisable and describes type
// mismatches by field.
func entryError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("%w: field %q: %s cannot hold a JSON %s", ErrSyntax, te.Field, te.Type, te.Value)
	}
	return err
}

func syntaxError(dec *json.Decoder, where string, err error) error {
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return &Error{Offset: dec.InputOffset(), Where: where, Err: fmt.Errorf("%w: unexpected end of file", ErrSyntax)}
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &Error{Offset: se.Offset, Where: where, Err: fmt.Errorf("%w: %v", ErrSyntax, se)}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return &Error{Offset: dec.InputOffset(), Where: where, Err: fmt.Errorf("%w: %v", ErrSyntax, err)}
}

// skipValue consumes one JSON value token by token, holding none of it.
func skipValue(dec *json.Decoder) error {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
		}
		if depth == 0 {
			return nil
		}
	}
}

// rawAnnotation is an annotation as COCO writes it (iscrowd is 0 or 1).
type rawAnnotation struct {
	ID           wholeNumber  `json:"id"`
	ImageID      wholeNumber  `json:"image_id"`
	CategoryID   wholeNumber  `json:"category_id"`
	Segmentation Segmentation `json:"segmentation"`
	Area         float64      `json:"area"`
	BBox         []float64    `json:"bbox"`
	IsCrowd      crowdFlag    `json:"iscrowd"`
}

func (a *rawAnnotation) annotation() Annotation {
	out := Annotation{
		ID: int64(a.ID), ImageID: int64(a.ImageID), CategoryID: int64(a.CategoryID),
		Segmentation: a.Segmentation, Area: a.Area, IsCrowd: bool(a.IsCrowd),
	}
	copy(out.BBox[:], a.BBox)
	return out
}

// crowdFlag reads COCO's iscrowd, written as 0/1 (true/false and 0.0/1.0
// accepted).
type crowdFlag bool

func (c *crowdFlag) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case "false", "null":
		*c = false
		return nil
	case "true":
		*c = true
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil || (v != 0 && v != 1) {
		return fmt.Errorf("%w: iscrowd is %s, want 0 or 1", ErrSyntax, b)
	}
	*c = v == 1
	return nil
}

type rawImage struct {
	ID       wholeNumber `json:"id"`
	FileName string      `json:"file_name"`
	Width    wholeNumber `json:"width"`
	Height   wholeNumber `json:"height"`
}

type rawCategory struct {
	ID            wholeNumber `json:"id"`
	Name          string      `json:"name"`
	Supercategory string      `json:"supercategory"`
}

// wholeNumber reads an integer also when a tool wrote it as a float with
// no fraction (12.0, 1e3), as Python-made files sometimes do and
// pycocotools accepts.
type wholeNumber int64

func (n *wholeNumber) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if v, err := strconv.ParseInt(string(b), 10, 64); err == nil {
		*n = wholeNumber(v)
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil || v != math.Trunc(v) || math.Abs(v) > 1<<53 {
		return fmt.Errorf("%w: %s is not a whole number (ids, width and height are integers)", ErrSyntax, b)
	}
	*n = wholeNumber(v)
	return nil
}
