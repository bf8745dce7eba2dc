package checkpoints

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/graftrain/graftrain/checkpoints/bundle"
)

// File names in a checkpoints directory.
const (
	PointerFile = "checkpoint.json"
	namePrefix  = "ckpt-"
	metaSuffix  = ".json"
	tmpPrefix   = ".tmp-"
)

// Name is the checkpoint name of a step: ckpt-STEP.
func Name(step int64) string { return namePrefix + strconv.FormatInt(step, 10) }

// Position is the data loader's position saved with a checkpoint.
type Position struct {
	Epoch int   `json:"epoch"`
	Index int64 `json:"index"`
	Seed  int64 `json:"seed"`
}

// FileInfo records one file of a checkpoint as written.
type FileInfo struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
}

// Meta is ckpt-STEP.json: everything besides the tensors that a run needs
// to continue exactly where it stopped.
type Meta struct {
	Name           string             `json:"name"`
	Step           int64              `json:"step"` // global steps completed
	ModelStep      int64              `json:"model_step"`
	Stage          string             `json:"stage"`
	StageIndex     int                `json:"stage_index"`
	StageStep      int64              `json:"stage_step"`
	Epoch          int                `json:"epoch"`
	Data           Position           `json:"data"`
	NonFiniteRun   int                `json:"nonfinite_run"`
	NonFiniteTotal int                `json:"nonfinite_total"`
	ConfigHash     string             `json:"config_hash"`
	DryRun         bool               `json:"dry_run,omitempty"`
	Time           string             `json:"time"`
	Metrics        map[string]float64 `json:"metrics,omitempty"`
	Files          []FileInfo         `json:"files"`
	// WriteSeconds is how long writing the checkpoint took.
	WriteSeconds float64 `json:"write_seconds"`
}

// Pointer is checkpoint.json, naming the latest complete checkpoint.
type Pointer struct {
	Latest      string   `json:"latest"`
	Step        int64    `json:"step"`
	Time        string   `json:"time"`
	Checkpoints []string `json:"checkpoints"` // complete ones, oldest first
	Best        []string `json:"best,omitempty"`
}

// Options configure retention.
type Options struct {
	KeepLast   int    // newest checkpoints kept (<= 0: keep all)
	KeepBest   int    // best checkpoints by BestMetric kept besides those
	BestMetric string // key of Meta.Metrics
	BestMode   string // min | max
	Log        zerolog.Logger
}

// Manager manages one checkpoints directory.
type Manager struct {
	dir  string
	opts Options
}

// Open returns a manager for dir, creating it. It changes nothing else:
// readers (checkpoints list) may open a directory a training process is
// writing to; only that process calls Clean.
func Open(dir string, opts Options) (*Manager, error) {
	if opts.BestMode == "" {
		opts.BestMode = "min"
	}
	if opts.BestMode != "min" && opts.BestMode != "max" {
		return nil, fmt.Errorf("checkpoint.best_mode %q: want min or max", opts.BestMode)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("checkpoints directory: %w", err)
	}
	return &Manager{dir: dir, opts: opts}, nil
}

// Clean removes what a crashed write left behind: temporary files, and
// checkpoint files without metadata (renamed into place but never
// completed). Only the process that writes checkpoints may call it, before
// it starts writing.
func (m *Manager) Clean() error {
	dir := m.dir
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("checkpoints directory: %w", err)
	}
	complete := map[string]bool{}
	for _, e := range ents {
		if n := e.Name(); strings.HasPrefix(n, namePrefix) && strings.HasSuffix(n, metaSuffix) {
			complete[strings.TrimSuffix(n, metaSuffix)] = true
		}
	}
	for _, e := range ents {
		n := e.Name()
		base, _, _ := strings.Cut(n, ".")
		switch {
		case strings.HasPrefix(n, tmpPrefix):
			os.RemoveAll(filepath.Join(dir, n))
		case strings.HasPrefix(n, namePrefix) && !complete[base]:
			os.Remove(filepath.Join(dir, n))
		}
	}
	return nil
}

// Dir is the checkpoints directory.
func (m *Manager) Dir() string { return m.dir }

// Prefix is the TensorFlow checkpoint prefix of a checkpoint name.
func (m *Manager) Prefix(name string) string { return filepath.Join(m.dir, name) }

// SaveFunc writes a TensorFlow checkpoint at prefix (Runner.Save).
type SaveFunc func(ctx context.Context, prefix string) error

// Save writes checkpoint meta.Step: the tensors through save under a
// temporary prefix, each file fsynced and renamed to ckpt-STEP.*, the
// directory fsynced, then ckpt-STEP.json, then the pointer, then
// retention. A complete checkpoint already at that step is kept as it is
// (the state at a step is the same): the run only re-points to it.
func (m *Manager) Save(ctx context.Context, meta Meta, save SaveFunc) (Meta, error) {
	t0 := time.Now()
	meta.Name = Name(meta.Step)
	if old, err := m.ReadMeta(meta.Name); err == nil && m.Verify(ctx, old) == nil {
		return old, m.finish(ctx, old)
	}
	if err := m.remove(meta.Name); err != nil {
		return meta, err
	}
	tmp := tmpPrefix + meta.Name
	if err := save(ctx, m.Prefix(tmp)); err != nil {
		m.removeTemp(tmp)
		return meta, fmt.Errorf("save checkpoint %s: %w", meta.Name, err)
	}
	files, err := m.filesOf(tmp)
	if err != nil || len(files) == 0 {
		m.removeTemp(tmp)
		return meta, fmt.Errorf("save checkpoint %s: the saver wrote no files under %s (%v)", meta.Name, m.Prefix(tmp), err)
	}
	meta.Files = meta.Files[:0]
	for _, f := range files {
		src := filepath.Join(m.dir, f)
		if err := syncFile(src); err != nil {
			m.removeTemp(tmp)
			return meta, fmt.Errorf("save checkpoint %s: sync %s: %w", meta.Name, f, err)
		}
		st, err := os.Stat(src)
		if err != nil {
			m.removeTemp(tmp)
			return meta, err
		}
		final := meta.Name + strings.TrimPrefix(f, tmp)
		if err := os.Rename(src, filepath.Join(m.dir, final)); err != nil {
			m.removeTemp(tmp)
			return meta, fmt.Errorf("save checkpoint %s: %w", meta.Name, err)
		}
		meta.Files = append(meta.Files, FileInfo{Name: final, Size: st.Size()})
	}
	if err := SyncDir(m.dir); err != nil {
		return meta, err
	}
	meta.Time = time.Now().UTC().Format(time.RFC3339Nano)
	meta.WriteSeconds = time.Since(t0).Seconds()
	data, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return meta, fmt.Errorf("save checkpoint %s: %w", meta.Name, err)
	}
	if err := WriteFileAtomic(filepath.Join(m.dir, meta.Name+metaSuffix), append(data, '\n')); err != nil {
		return meta, err
	}
	return meta, m.finish(ctx, meta)
}

// finish points checkpoint.json at latest and applies retention.
func (m *Manager) finish(ctx context.Context, latest Meta) error {
	all, err := m.List()
	if err != nil {
		return err
	}
	keep, best := m.retain(all, latest.Name)
	var kept []string
	for _, c := range all {
		if keep[c.Name] {
			kept = append(kept, c.Name)
		}
	}
	p := Pointer{Latest: latest.Name, Step: latest.Step, Time: time.Now().UTC().Format(time.RFC3339Nano), Checkpoints: kept, Best: best}
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	if err := WriteFileAtomic(filepath.Join(m.dir, PointerFile), append(data, '\n')); err != nil {
		return err
	}
	for _, c := range all {
		if !keep[c.Name] {
			if err := m.remove(c.Name); err != nil {
				return err
			}
		}
	}
	return nil
}

// retain decides which checkpoints stay: the latest, the KeepLast newest
// and the KeepBest best by the metric.
func (m *Manager) retain(all []Meta, latest string) (map[string]bool, []string) {
	keep := map[string]bool{latest: true}
	if m.opts.KeepLast <= 0 {
		for _, c := range all {
			keep[c.Name] = true
		}
	}
	for i := len(all) - 1; i >= 0 && i >= len(all)-m.opts.KeepLast; i-- {
		keep[all[i].Name] = true
	}
	var ranked []Meta
	for _, c := range all {
		if v, ok := c.Metrics[m.opts.BestMetric]; ok && !math.IsNaN(v) {
			ranked = append(ranked, c)
		}
	}
	sort.SliceStable(ranked, func(i, j int) bool {
		a, b := ranked[i].Metrics[m.opts.BestMetric], ranked[j].Metrics[m.opts.BestMetric]
		if m.opts.BestMode == "max" {
			return a > b
		}
		return a < b
	})
	var best []string
	for i := 0; i < len(ranked) && i < m.opts.KeepBest; i++ {
		keep[ranked[i].Name] = true
		best = append(best, ranked[i].Name)
	}
	return keep, best
}

// List returns the complete checkpoints (those with metadata), oldest first.
func (m *Manager) List() ([]Meta, error) {
	ents, err := os.ReadDir(m.dir)
	if err != nil {
		return nil, fmt.Errorf("list checkpoints: %w", err)
	}
	var out []Meta
	for _, e := range ents {
		n := e.Name()
		if !strings.HasPrefix(n, namePrefix) || !strings.HasSuffix(n, metaSuffix) {
			continue
		}
		meta, err := m.ReadMeta(strings.TrimSuffix(n, metaSuffix))
		if err != nil {
			m.opts.Log.Warn().Err(err).Str("file", n).Msg("unreadable checkpoint metadata ignored")
			continue
		}
		out = append(out, meta)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Step < out[j].Step })
	return out, nil
}

// ReadMeta reads ckpt-STEP.json of a checkpoint name.
func (m *Manager) ReadMeta(name string) (Meta, error) {
	var meta Meta
	path := filepath.Join(m.dir, name+metaSuffix)
	data, err := os.ReadFile(path)
	if err != nil {
		return meta, err
	}
	if err := json.Unmarshal(data, &meta); err != nil {
		return meta, fmt.Errorf("%s: %w", path, err)
	}
	if meta.Name != name {
		return meta, fmt.Errorf("%s: names checkpoint %q", path, meta.Name)
	}
	return meta, nil
}

// ReadPointer reads checkpoint.json.
func (m *Manager) ReadPointer() (Pointer, error) {
	var p Pointer
	data, err := os.ReadFile(filepath.Join(m.dir, PointerFile))
	if err != nil {
		return p, err
	}
	return p, json.Unmarshal(data, &p)
}

// Verify checks a checkpoint: every recorded file with its recorded size,
// then the index and every tensor's CRC32C with the bundle reader.
func (m *Manager) Verify(ctx context.Context, meta Meta) error {
	for _, f := range meta.Files {
		st, err := os.Stat(filepath.Join(m.dir, f.Name))
		if err != nil {
			return fmt.Errorf("checkpoint %s: %w", meta.Name, err)
		}
		if st.Size() != f.Size {
			return fmt.Errorf("checkpoint %s: %s has %d bytes, %d were written", meta.Name, f.Name, st.Size(), f.Size)
		}
	}
	c, err := bundle.Open(m.Prefix(meta.Name))
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", meta.Name, err)
	}
	rep, err := c.Verify(ctx)
	if err != nil {
		return err
	}
	if err := rep.Err(); err != nil {
		return fmt.Errorf("checkpoint %s: %w", meta.Name, err)
	}
	return nil
}

// ErrNone is returned by Latest when the directory has no usable checkpoint.
var ErrNone = errors.New("no complete checkpoint")

// Latest returns the newest complete checkpoint that verifies. Damaged
// ones are skipped with a warning naming what is wrong; the pointer is not
// trusted blindly, since a crash between the metadata and the pointer
// leaves a newer complete checkpoint it does not name yet.
func (m *Manager) Latest(ctx context.Context) (Meta, error) {
	all, err := m.List()
	if err != nil {
		return Meta{}, err
	}
	for i := len(all) - 1; i >= 0; i-- {
		if err := m.Verify(ctx, all[i]); err != nil {
			if ctx.Err() != nil {
				return Meta{}, ctx.Err()
			}
			m.opts.Log.Warn().Err(err).Str("checkpoint", all[i].Name).Msg("checkpoint damaged; falling back to the previous one")
			continue
		}
		return all[i], nil
	}
	return Meta{}, ErrNone
}

// filesOf lists the directory entries that belong to a checkpoint prefix
// name (name.index, name.data-...).
func (m *Manager) filesOf(name string) ([]string, error) {
	ents, err := os.ReadDir(m.dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, name+".") && n != name+metaSuffix {
			out = append(out, n)
		}
	}
	return out, nil
}

// remove deletes a checkpoint, metadata first so it is never seen as
// complete with missing files.
func (m *Manager) remove(name string) error {
	if err := os.Remove(filepath.Join(m.dir, name+metaSuffix)); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("remove checkpoint %s: %w", name, err)
	}
	files, err := m.filesOf(name)
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := os.Remove(filepath.Join(m.dir, f)); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("remove checkpoint %s: %w", name, err)
		}
	}
	return nil
}

func (m *Manager) removeTemp(name string) {
	files, _ := m.filesOf(name)
	for _, f := range files {
		os.Remove(filepath.Join(m.dir, f))
	}
}
