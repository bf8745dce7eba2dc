package logs

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

func TestFormats(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		name     string
		format   string
		terminal *bool
		json     bool
	}{
		{"auto off a terminal is JSON", "auto", &no, true},
		{"auto on a terminal is console", "auto", &yes, false},
		{"empty is auto", "", &no, true},
		{"json on a terminal", "json", &yes, true},
		{"console off a terminal", "console", &no, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			log, closeFn, err := New(Options{Format: tt.format, Out: &buf, Terminal: tt.terminal})
			if err != nil {
				t.Fatal(err)
			}
			log.Info().Int64("step", 12).Msg("checkpoint saved")
			if err := closeFn(); err != nil {
				t.Fatal(err)
			}
			var ev map[string]any
			isJSON := json.Unmarshal(buf.Bytes(), &ev) == nil
			if isJSON != tt.json {
				t.Fatalf("JSON = %v, want %v: %q", isJSON, tt.json, buf.String())
			}
			if isJSON {
				if ev["step"] != float64(12) || ev["message"] != "checkpoint saved" || ev["level"] != "info" {
					t.Errorf("event %v", ev)
				}
			} else if plain := ansi.ReplaceAllString(buf.String(), ""); !strings.Contains(plain, "step=12") || !strings.Contains(buf.String(), "checkpoint saved") {
				t.Errorf("console line %q", buf.String())
			}
			if !tt.json && tt.terminal != nil && !*tt.terminal && strings.Contains(buf.String(), "\x1b[") {
				t.Errorf("colour codes off a terminal: %q", buf.String())
			}
		})
	}
}

func TestLevels(t *testing.T) {
	for _, tt := range []struct {
		level string
		want  int // events of debug, info, warn, error that pass
	}{{"debug", 4}, {"info", 3}, {"", 3}, {"warn", 2}, {"error", 1}} {
		var buf bytes.Buffer
		log, _, err := New(Options{Level: tt.level, Format: "json", Out: &buf})
		if err != nil {
			t.Fatal(err)
		}
		log.Debug().Msg("d")
		log.Info().Msg("i")
		log.Warn().Msg("w")
		log.Error().Msg("e")
		if got := strings.Count(buf.String(), "\n"); got != tt.want {
			t.Errorf("level %q: %d events, want %d", tt.level, got, tt.want)
		}
	}
}

func TestBadOptions(t *testing.T) {
	if _, _, err := New(Options{Level: "verbose"}); err == nil || !strings.Contains(err.Error(), "verbose") {
		t.Errorf("level verbose: err = %v", err)
	}
	if _, _, err := New(Options{Format: "xml"}); err == nil || !strings.Contains(err.Error(), "xml") {
		t.Errorf("format xml: err = %v", err)
	}
}

// The run directory gets JSON lines whatever the console format, and a
// second logger appends instead of truncating.
func TestRunDirTee(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "runs", "a")
	yes := true
	for i := range 2 {
		var buf bytes.Buffer
		log, closeFn, err := New(Options{Format: "console", Out: &buf, Terminal: &yes, RunDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		log.Info().Int("attempt", i).Msg("start")
		if err := closeFn(); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), "start") {
			t.Errorf("console lacks the event: %q", buf.String())
		}
	}
	f, err := os.Open(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var attempts []float64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if _, ok := ev["time"]; !ok {
			t.Errorf("no time field: %v", ev)
		}
		attempts = append(attempts, ev["attempt"].(float64))
	}
	if len(attempts) != 2 || attempts[0] != 0 || attempts[1] != 1 {
		t.Errorf("attempts %v, want [0 1]", attempts)
	}
}
