package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// runGraftrain runs the command line with env as the whole environment.
func runGraftrain(t *testing.T, env []string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	a := newApp(&out, &errOut)
	a.environ = env
	root := newRootCmd(a)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), errOut.String(), err
}

func TestConfigShow(t *testing.T) {
	out, _, err := runGraftrain(t, []string{"GRAFTRAIN_TRAIN_SEED=5"}, "config", "show", "--set", "stages.0.lr_multipliers.rpn=0.2", "--log-level", "debug")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\n  seed: 5\n", "\n      rpn: 0.2\n", "\n  level: debug\n", "\n    layers: [heads]\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "#") {
		t.Errorf("show without --sources has comments:\n%s", out)
	}

	// Loading what show printed shows the same again.
	file := filepath.Join(t.TempDir(), "shown.yaml")
	if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	again, _, err := runGraftrain(t, []string{}, "config", "show", "--config", file)
	if err != nil {
		t.Fatal(err)
	}
	if again != out {
		t.Errorf("show of the shown config differs:\n%s\nwant:\n%s", again, out)
	}

	src, _, err := runGraftrain(t, []string{"GRAFTRAIN_TRAIN_SEED=5"}, "config", "show", "--sources", "--config", file, "--set", "train.max_steps=9", "--log-format=json")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"seed: 5 # env GRAFTRAIN_TRAIN_SEED",
		"max_steps: 9 # --set train.max_steps=9",
		"format: json # flag --log-format",
		"level: debug # " + file + ":4",
		"dir: runs/default # " + file + ":2",
	} {
		if !strings.Contains(src, want) {
			t.Errorf("show --sources lacks %q:\n%s", want, src)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	out, _, err := runGraftrain(t, []string{}, "config", "validate", "--config", "../../config/testdata/good.yaml")
	if err != nil || out != "configuration is valid: 2 stages, 6 groups\n" {
		t.Errorf("good config: %q, %v", out, err)
	}
	_, _, err = runGraftrain(t, []string{"GRAFTRAIN_TRAIN_SEEED=1"}, "config", "validate",
		"--config", "../../config/testdata/weights.bad.yaml", "--log-level=verbose", "--set", "stages.0.learning_rate=-1")
	if err == nil {
		t.Fatal("bad config validated")
	}
	if exitCode(err) != 1 {
		t.Errorf("exit code %d, want 1", exitCode(err))
	}
	msg := err.Error()
	for _, want := range []string{
		"invalid configuration (7 problems):\n  ",
		"\n  env GRAFTRAIN_TRAIN_SEEED: names no config key; did you mean GRAFTRAIN_TRAIN_SEED?",
		"\n  log.level (flag --log-level): \"verbose\" is not a valid value",
		"\n  stages.0.learning_rate (--set stages.0.learning_rate=-1): negative learning rate -1",
		"\n  stages.0.loss_weights.mask_loss (../../config/testdata/weights.bad.yaml:9): unknown loss \"mask_loss\"; did you mean mrcnn_mask_loss?",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	// show refuses the same config: nothing starts on a bad config.
	if out, _, err := runGraftrain(t, []string{}, "config", "show", "--set", "stages.0.learning_rate=-1"); err == nil || out != "" {
		t.Errorf("show of a bad config: %q, %v", out, err)
	}
}

func TestVersion(t *testing.T) {
	out, _, err := runGraftrain(t, nil, "version")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "go         "+runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH+"\n") {
		t.Errorf("no Go version line:\n%s", out)
	}
	_, hasTF := tensorflowVersion()
	if !hasTF && !strings.Contains(out, "tensorflow built without TensorFlow (build with -tags tensorflow, see README)\n") {
		t.Errorf("no TensorFlow line:\n%s", out)
	}
	if !strings.HasPrefix(out, "graftrain  ") {
		t.Errorf("no graftrain line:\n%s", out)
	}
	out, _, err = runGraftrain(t, nil, "version", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var v buildVersion
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatal(err)
	}
	if v.Go != runtime.Version() || v.HasTensorFlow != hasTF || v.Version == "" {
		t.Errorf("version json %+v", v)
	}
}

func TestBindFlag(t *testing.T) {
	for _, tt := range []struct{ flag, key string }{{"nope", "train.seed"}, {"n", "train.sed"}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("bindFlag(%s, %s) accepted", tt.flag, tt.key)
				}
			}()
			cmd := &cobra.Command{Use: "x"}
			cmd.Flags().Int("n", 0, "")
			bindFlag(cmd, tt.flag, tt.key)
		}()
	}
}

// newLogger follows the config's log settings and tees into the run
// directory's log.jsonl.
func TestNewLogger(t *testing.T) {
	var out, errOut bytes.Buffer
	a := newApp(&out, &errOut)
	a.environ = []string{"GRAFTRAIN_LOG_LEVEL=warn"}
	root := newRootCmd(a)
	if _, err := a.loadConfig(root); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	log, closeLog, err := a.newLogger(dir)
	if err != nil {
		t.Fatal(err)
	}
	log.Info().Msg("hidden at warn")
	log.Warn().Int("step", 3).Msg("shown")
	if err := closeLog(); err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(errOut.Bytes(), &ev); err != nil || ev["message"] != "shown" || ev["step"] != float64(3) {
		t.Errorf("stderr %q (JSON off a terminal): %v", errOut.String(), err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "log.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, errOut.Bytes()) {
		t.Errorf("log.jsonl %q, want the same events as stderr %q", data, errOut.String())
	}
}

// A version set with -ldflags "-X main.version=..." wins over build info.
func TestVersionLdflags(t *testing.T) {
	old := version
	t.Cleanup(func() { version = old })
	version = "v1.2.3"
	out, _, err := runGraftrain(t, nil, "version")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "graftrain  v1.2.3") {
		t.Errorf("version line: %q", out)
	}
}
