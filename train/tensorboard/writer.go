package tensorboard

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/wamuir/graft/tensorflow/core/framework/summary_go_proto"
	"github.com/wamuir/graft/tensorflow/core/util/event_go_proto"
)

// FileVersion is the first event of every file, as TensorFlow writes it.
const FileVersion = "brain.Event:2"

// Writer appends events to one event file. It is not safe for concurrent use.
type Writer struct {
	path string
	f    *os.File
	w    *bufio.Writer
	buf  []byte
	now  func() time.Time
}

// Create starts a new event file in dir, named as TensorFlow names them
// (events.out.tfevents.SECONDS.HOST[.SUFFIX]), and writes the file_version
// event.
func Create(dir, suffix string) (*Writer, error) {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	now := time.Now()
	base := fmt.Sprintf("events.out.tfevents.%d.%s.%d", now.Unix(), host, os.Getpid())
	if suffix != "" {
		base += "." + suffix
	}
	// Two writers started within a second by one process get .1, .2, ...
	var f *os.File
	var path string
	for i := 0; ; i++ {
		name := base
		if i > 0 {
			name = fmt.Sprintf("%s.%d", base, i)
		}
		path = filepath.Join(dir, name)
		f, err = os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o644)
		if err == nil {
			break
		}
		if !os.IsExist(err) || i > 1000 {
			return nil, fmt.Errorf("create event file: %w", err)
		}
	}
	w := &Writer{path: path, f: f, w: bufio.NewWriterSize(f, 64<<10), now: time.Now}
	if err := w.write(&event_go_proto.Event{What: &event_go_proto.Event_FileVersion{FileVersion: FileVersion}}); err != nil {
		f.Close()
		return nil, err
	}
	return w, nil
}

// Path is the event file's path.
func (w *Writer) Path() string { return w.path }

// Scalar is one tagged value.
type Scalar struct {
	Tag   string
	Value float64
}

// Scalars writes one event holding the values at step.
func (w *Writer) Scalars(step int64, values []Scalar) error {
	s := &summary_go_proto.Summary{Value: make([]*summary_go_proto.Summary_Value, len(values))}
	for i, v := range values {
		s.Value[i] = &summary_go_proto.Summary_Value{Tag: v.Tag, Value: &summary_go_proto.Summary_Value_SimpleValue{SimpleValue: float32(v.Value)}}
	}
	return w.write(&event_go_proto.Event{Step: step, What: &event_go_proto.Event_Summary{Summary: s}})
}

// Start writes a SessionLog START event at step. TensorBoard then discards
// the points after step that an earlier, interrupted process wrote: a
// resumed run's curves continue without a doubled tail.
func (w *Writer) Start(step int64) error {
	return w.write(&event_go_proto.Event{Step: step, What: &event_go_proto.Event_SessionLog{
		SessionLog: &event_go_proto.SessionLog{Status: event_go_proto.SessionLog_START},
	}})
}

func (w *Writer) write(e *event_go_proto.Event) error {
	e.WallTime = float64(w.now().UnixNano()) / 1e9
	data, err := proto.MarshalOptions{Deterministic: true}.MarshalAppend(w.buf[:0], e)
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	w.buf = data
	rec := appendRecord(nil, data)
	if _, err := w.w.Write(rec); err != nil {
		return fmt.Errorf("write %s: %w", w.path, err)
	}
	return nil
}

// Flush pushes buffered events to the file.
func (w *Writer) Flush() error {
	if err := w.w.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", w.path, err)
	}
	return nil
}

// Close flushes and closes the file.
func (w *Writer) Close() error {
	return errors.Join(w.Flush(), w.f.Close())
}

// ReadFile reads every event of an event file, verifying both CRCs of each
// record. A torn last record (an interrupted writer) ends the list without
// an error; a CRC mismatch is an error wrapping ErrCorrupt.
func ReadFile(path string) ([]*event_go_proto.Event, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := bufio.NewReader(f)
	var out []*event_go_proto.Event
	for {
		data, err := readRecord(r)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("%s record %d: %w", path, len(out), err)
		}
		e := &event_go_proto.Event{}
		if err := proto.Unmarshal(data, e); err != nil {
			return out, fmt.Errorf("%s record %d: %w: %v", path, len(out), ErrCorrupt, err)
		}
		out = append(out, e)
	}
}
