package coco

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
)

// Error is a problem at a place in an annotation file. Read returns one
// (or several joined with errors.Join) for every malformed or inconsistent
// entry; callers can find the cause with errors.As and errors.Is.
type Error struct {
	// File is the annotation file, empty when read from a stream.
	File string
	// Offset is the byte offset of the entry or token at fault, -1 when
	// unknown.
	Offset int64
	// Line and Col are 1-based, 0 when unknown (streams give offsets only).
	Line, Col int
	// Where is the JSON location, such as `annotations[17] (id 2021)`.
	Where string
	Err   error
}

func (e *Error) Error() string {
	loc := e.File
	switch {
	case e.Line > 0:
		if loc != "" {
			loc += ":"
		}
		loc += fmt.Sprintf("%d:%d", e.Line, e.Col)
	case e.Offset >= 0:
		if loc != "" {
			loc += ": "
		}
		loc += fmt.Sprintf("byte %d", e.Offset)
	}
	msg := e.Err.Error()
	if e.Where != "" {
		msg = e.Where + ": " + msg
	}
	if loc == "" {
		return msg
	}
	return loc + ": " + msg
}

func (e *Error) Unwrap() error { return e.Err }

// Sentinel causes inside an *Error.
var (
	ErrSyntax          = errors.New("invalid JSON")
	ErrDuplicateID     = errors.New("duplicate id")
	ErrUnknownImage    = errors.New("unknown image id")
	ErrUnknownCategory = errors.New("unknown category id")
	ErrPolygon         = errors.New("malformed polygon")
	ErrRLE             = errors.New("malformed RLE")
	ErrImage           = errors.New("invalid image entry")
)

// maxProblems bounds the problems one Read reports; a badly broken file
// would otherwise produce one per entry.
const maxProblems = 50

// problems collects located errors.
type problems struct {
	list  []*Error
	extra int
}

func (p *problems) add(off int64, where string, err error) {
	if len(p.list) == maxProblems {
		p.extra++
		return
	}
	p.list = append(p.list, &Error{Offset: off, Where: where, Err: err})
}

// locate fills Line and Col of every error from the document src by one
// pass over it. An entry's offset may point at the separator before it, so
// whitespace and one comma after the offset are skipped first.
func locate(src io.Reader, errs []*Error) {
	order := make([]*Error, 0, len(errs))
	for _, e := range errs {
		if e.Offset >= 0 {
			order = append(order, e)
		}
	}
	slices.SortStableFunc(order, func(a, b *Error) int {
		switch {
		case a.Offset < b.Offset:
			return -1
		case a.Offset > b.Offset:
			return 1
		}
		return 0
	})
	br := bufio.NewReaderSize(src, 1<<16)
	var off int64
	line, col := 1, 1
	for _, e := range order {
		for off < e.Offset {
			c, err := br.ReadByte()
			if err != nil {
				return
			}
			off++
			if c == '\n' {
				line, col = line+1, 1
			} else {
				col++
			}
		}
		// Skip to the entry itself.
		l, c := line, col
		for {
			b, err := br.Peek(1)
			if err != nil || (b[0] != ' ' && b[0] != '\t' && b[0] != '\r' && b[0] != '\n' && b[0] != ',') {
				break
			}
			_, _ = br.ReadByte()
			off++
			if b[0] == '\n' {
				l, c = l+1, 1
			} else {
				c++
			}
		}
		line, col = l, c
		e.Line, e.Col = line, col
	}
}
