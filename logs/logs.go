package logs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/term"
)

// FileName is the log file written in a run directory.
const FileName = "log.jsonl"

// Levels and Formats are the accepted values of log.level and log.format.
var (
	Levels  = []string{"debug", "info", "warn", "error"}
	Formats = []string{"auto", "console", "json"}
)

// Options configure New.
type Options struct {
	Level  string    // debug | info | warn | error; "" is info
	Format string    // auto | console | json; "" is auto
	Out    io.Writer // the console stream, usually stderr
	// Terminal overrides the terminal check of Out for format auto
	// (nil: Out is a terminal when it is an *os.File on a TTY).
	Terminal *bool
	// RunDir, when not empty, receives every event as a JSON line in
	// RunDir/log.jsonl (appended, so a resumed run keeps its history).
	RunDir string
}

// ParseLevel maps a log.level value to zerolog's level.
func ParseLevel(s string) (zerolog.Level, error) {
	switch s {
	case "debug":
		return zerolog.DebugLevel, nil
	case "info", "":
		return zerolog.InfoLevel, nil
	case "warn":
		return zerolog.WarnLevel, nil
	case "error":
		return zerolog.ErrorLevel, nil
	}
	return zerolog.NoLevel, fmt.Errorf("log level %q: use debug, info, warn or error", s)
}

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// New returns the logger and a close function that flushes and closes the
// run directory's log file (a no-op without one).
func New(o Options) (zerolog.Logger, func() error, error) {
	nop := func() error { return nil }
	level, err := ParseLevel(o.Level)
	if err != nil {
		return zerolog.Nop(), nop, err
	}
	out := o.Out
	if out == nil {
		out = os.Stderr
	}
	tty := IsTerminal(out)
	if o.Terminal != nil {
		tty = *o.Terminal
	}
	var console io.Writer
	switch o.Format {
	case "json":
		console = out
	case "console":
		console = zerolog.ConsoleWriter{Out: out, TimeFormat: time.TimeOnly, NoColor: !tty}
	case "auto", "":
		if tty {
			console = zerolog.ConsoleWriter{Out: out, TimeFormat: time.TimeOnly}
		} else {
			console = out
		}
	default:
		return zerolog.Nop(), nop, fmt.Errorf("log format %q: use auto, console or json", o.Format)
	}
	w := console
	closeFn := nop
	if o.RunDir != "" {
		if err := os.MkdirAll(o.RunDir, 0o755); err != nil {
			return zerolog.Nop(), nop, fmt.Errorf("log file: %w", err)
		}
		path := filepath.Join(o.RunDir, FileName)
		f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return zerolog.Nop(), nop, fmt.Errorf("log file: %w", err)
		}
		w = zerolog.MultiLevelWriter(console, f)
		closeFn = func() error {
			return errors.Join(f.Sync(), f.Close())
		}
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger(), closeFn, nil
}
