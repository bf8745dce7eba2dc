// Package export writes a trained model as a new SavedModel: the original
// saved_model.pb and assets/ copied, and a training checkpoint as the
// SavedModel's variables/variables. It is pure Go: a checkpoint that the
// model's own saver_def wrote is, byte for byte, what TensorFlow writes to
// variables/ (the same saver, the same object graph), so copying its files
// under the SavedModel's prefix is the save through saver_def without a
// second session. The checkpoint is first checked against the model's own
// variables: same keys, dtypes and shapes, every CRC intact.
package export

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/graftrain/graftrain/checkpoints/bundle"
	"github.com/graftrain/graftrain/tf/savedmodel"
)

// Options say what to export.
type Options struct {
	Model      string // the SavedModel that was trained
	Checkpoint string // checkpoint prefix (path without .index)
	Out        string // new SavedModel directory; must not exist or be empty
}

// Result describes the written SavedModel.
type Result struct {
	Out     string
	Files   []string // relative to Out, sorted
	Tensors int      // checkpoint entries written
}

// MismatchError lists how a checkpoint differs from the model's variables.
type MismatchError struct {
	Checkpoint string
	Problems   []string
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("checkpoint %s does not hold this model's variables (was it written by another model or by the dry run's stand-in?):\n  - %s",
		e.Checkpoint, strings.Join(e.Problems, "\n  - "))
}

// Write exports o.Checkpoint of o.Model into o.Out. It writes into a
// temporary directory beside o.Out and renames it into place once every
// file is synced, so o.Out is either complete or absent.
func Write(ctx context.Context, o Options) (*Result, error) {
	sm, err := savedmodel.Load(o.Model)
	if err != nil {
		return nil, err
	}
	if sm.CheckpointPrefix == "" {
		return nil, fmt.Errorf("model %s has no variables/variables checkpoint to compare the trained one with", o.Model)
	}
	orig, err := bundle.Open(sm.CheckpointPrefix)
	if err != nil {
		return nil, fmt.Errorf("model variables: %w", err)
	}
	ck, err := bundle.Open(o.Checkpoint)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	if err := Compatible(orig, ck); err != nil {
		return nil, err
	}
	rep, err := ck.Verify(ctx)
	if err != nil {
		return nil, fmt.Errorf("verify checkpoint %s: %w", ck.Prefix, err)
	}
	if err := rep.Err(); err != nil {
		return nil, fmt.Errorf("checkpoint %s is damaged: %w", ck.Prefix, err)
	}
	if err := emptyOrAbsent(o.Out); err != nil {
		return nil, err
	}

	parent := filepath.Dir(filepath.Clean(o.Out))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, ".export-"+filepath.Base(o.Out)+"-")
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	defer os.RemoveAll(tmp) // after the rename there is nothing left here

	res := &Result{Out: o.Out, Tensors: len(ck.Index.Entries)}
	copyTo := func(src, rel string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := copyFile(src, filepath.Join(tmp, rel)); err != nil {
			return err
		}
		res.Files = append(res.Files, filepath.ToSlash(rel))
		return nil
	}
	if err := copyTo(filepath.Join(o.Model, savedmodel.ProtoFile), savedmodel.ProtoFile); err != nil {
		return nil, err
	}
	// assets/ (read by the graph and by graftrain) and assets.extra/
	// (read by serving tools) travel with the graph. fingerprint.pb is left
	// out: it hashes the old variables, and TensorFlow loads without it.
	for _, dir := range []string{savedmodel.AssetsDir, "assets.extra"} {
		if err := copyTree(filepath.Join(o.Model, dir), dir, copyTo); err != nil {
			return nil, err
		}
	}
	dst := filepath.Join(savedmodel.VariablesDir, savedmodel.VariablesBase)
	if err := copyTo(bundle.IndexPath(ck.Prefix), bundle.IndexPath(dst)); err != nil {
		return nil, err
	}
	shards := int(max(ck.Index.Header.NumShards, 1))
	for i := range shards {
		if err := copyTo(bundle.DataPath(ck.Prefix, i, shards), bundle.DataPath(dst, i, shards)); err != nil {
			return nil, err
		}
	}
	for _, d := range []string{savedmodel.VariablesDir, savedmodel.AssetsDir, ""} {
		if err := syncDir(filepath.Join(tmp, d)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	if err := os.Remove(o.Out); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("export: %w", err)
	}
	if err := os.Rename(tmp, o.Out); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	if err := syncDir(parent); err != nil {
		return nil, err
	}
	slices.Sort(res.Files)
	return res, nil
}

// Compatible reports, as a *MismatchError, every key of the model's own
// checkpoint that ck lacks or holds with another dtype or shape, and every
// key ck has that the model does not.
func Compatible(model, ck *bundle.Checkpoint) error {
	var problems []string
	for _, e := range model.Index.Entries {
		got, ok := ck.Index.Lookup(e.Key)
		switch {
		case !ok:
			problems = append(problems, "missing "+e.Key)
		case got.DType != e.DType:
			problems = append(problems, fmt.Sprintf("%s is %s, the model's is %s", e.Key, got.DType, e.DType))
		case !slices.Equal(got.Shape, e.Shape):
			problems = append(problems, fmt.Sprintf("%s has shape %v, the model's %v", e.Key, got.Shape, e.Shape))
		}
	}
	for _, e := range ck.Index.Entries {
		if _, ok := model.Index.Lookup(e.Key); !ok {
			problems = append(problems, "unknown to the model: "+e.Key)
		}
	}
	if len(problems) > 0 {
		const show = 20
		if n := len(problems); n > show {
			problems = append(problems[:show], fmt.Sprintf("and %d more", n-show))
		}
		return &MismatchError{Checkpoint: ck.Prefix, Problems: problems}
	}
	return nil
}

func emptyOrAbsent(dir string) error {
	ents, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("export: %w", err)
	case len(ents) > 0:
		return fmt.Errorf("export: %s exists and is not empty; choose a new --out directory", dir)
	}
	return nil
}

func copyTree(src, rel string, copyTo func(src, rel string) error) error {
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("export: %s is not a regular file", p)
		}
		r, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		return copyTo(p, filepath.Join(rel, r))
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("export: copy %s: %w", src, err)
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return fmt.Errorf("export: sync %s: %w", dst, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("export: sync %s: %w", dir, err)
	}
	return nil
}
