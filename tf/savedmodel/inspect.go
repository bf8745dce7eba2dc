package savedmodel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/graftrain/graftrain/checkpoints/bundle"
)

// Inspection is what `graftrain inspect` shows about a SavedModel directory
// or a lone checkpoint.
type Inspection struct {
	Path string `json:"path"`
	// Kind is "saved_model" or "checkpoint" (a lone .index or prefix).
	Kind       string               `json:"kind"`
	Model      *Model               `json:"saved_model,omitempty"`
	Checkpoint *CheckpointListing   `json:"checkpoint,omitempty"`
	Verify     *bundle.VerifyReport `json:"verify,omitempty"`
	Contract   *ContractReport      `json:"contract,omitempty"`
}

// CheckpointListing summarises a checkpoint index.
type CheckpointListing struct {
	Prefix  string           `json:"prefix"`
	Header  bundle.Header    `json:"header"`
	Table   bundle.TableInfo `json:"table"`
	Entries []bundle.Entry   `json:"entries"`
	// Elements and Bytes total the entries per dtype.
	Elements map[string]int64 `json:"elements_by_dtype"`
	Bytes    map[string]int64 `json:"bytes_by_dtype"`
}

// InspectOptions choose what Inspect does besides reading.
type InspectOptions struct {
	Tags   []string // meta graph for the contract check; default serve
	Verify bool     // check data shard sizes and every entry's CRC32C
}

// Inspect reads path: a SavedModel directory, a checkpoint `.index` file or
// a checkpoint prefix. A SavedModel gets the contract check.
func Inspect(ctx context.Context, path string, o InspectOptions) (*Inspection, error) {
	st, err := os.Stat(path)
	switch {
	case err == nil && st.IsDir():
		return inspectDir(ctx, path, o)
	case err == nil && strings.HasSuffix(path, ".index"):
		return inspectCheckpoint(ctx, path, o)
	case err == nil:
		return nil, fmt.Errorf("inspect %s: not a SavedModel directory nor a checkpoint .index file", path)
	case errors.Is(err, fs.ErrNotExist):
		if _, err2 := os.Stat(bundle.IndexPath(path)); err2 == nil {
			return inspectCheckpoint(ctx, bundle.IndexPath(path), o)
		}
		return nil, fmt.Errorf("inspect: %w", err)
	default:
		return nil, fmt.Errorf("inspect: %w", err)
	}
}

func inspectDir(ctx context.Context, dir string, o InspectOptions) (*Inspection, error) {
	m, err := Load(dir)
	if err != nil {
		if errors.Is(err, ErrNoSavedModel) {
			if idx, _ := filepath.Glob(filepath.Join(dir, "*.index")); len(idx) > 0 {
				return nil, fmt.Errorf("%w; it holds checkpoint index %s: pass that file to list the checkpoint", err, idx[0])
			}
		}
		return nil, err
	}
	in := &Inspection{Path: dir, Kind: "saved_model", Model: m}
	if m.CheckpointPrefix != "" {
		in.Checkpoint, in.Verify, err = listCheckpoint(ctx, m.CheckpointPrefix, o.Verify)
		if err != nil {
			return nil, err
		}
	}
	in.Contract = Check(m, o.Tags)
	return in, nil
}

func inspectCheckpoint(ctx context.Context, index string, o InspectOptions) (*Inspection, error) {
	in := &Inspection{Path: index, Kind: "checkpoint"}
	var err error
	in.Checkpoint, in.Verify, err = listCheckpoint(ctx, bundle.PrefixOf(index), o.Verify)
	if err != nil {
		return nil, err
	}
	return in, nil
}

func listCheckpoint(ctx context.Context, prefix string, verify bool) (*CheckpointListing, *bundle.VerifyReport, error) {
	c, err := bundle.Open(prefix)
	if err != nil {
		return nil, nil, err
	}
	l := &CheckpointListing{Prefix: prefix, Header: c.Index.Header, Table: c.Index.Table, Entries: c.Index.Entries,
		Elements: map[string]int64{}, Bytes: map[string]int64{}}
	for _, e := range c.Index.Entries {
		l.Elements[e.DType.String()] += e.NumElements()
		l.Bytes[e.DType.String()] += e.Size
	}
	if !verify {
		return l, nil, nil
	}
	rep, err := c.Verify(ctx)
	if err != nil {
		return nil, nil, err
	}
	return l, rep, nil
}

// WriteText prints the inspection for people.
func (in *Inspection) WriteText(w io.Writer) error {
	p := &printer{w: w}
	if m := in.Model; m != nil {
		p.f("SavedModel %s (schema version %d)\n", m.Dir, m.SchemaVersion)
		for i := range m.MetaGraphs {
			g := &m.MetaGraphs[i]
			p.f("\nMeta graph, tags [%s]", strings.Join(g.Tags, ", "))
			if g.TensorFlowVersion != "" {
				p.f(", exported by TensorFlow %s", g.TensorFlowVersion)
			}
			p.f("\n")
			p.signatures(g)
			p.variables(g)
			if g.Saver != nil {
				s := g.Saver
				p.f("\n  saver_def: filename tensor %s, save tensor %s, restore op %s, version %s", s.FilenameTensor, s.SaveTensor, s.RestoreOp, s.Version)
				if s.Sharded {
					p.f(", sharded")
				}
				p.f("\n")
			} else {
				p.f("\n  saver_def: none\n")
			}
			for _, a := range g.Assets {
				p.f("  asset file def: %s (tensor %s)\n", a.Filename, a.TensorName)
			}
		}
		p.f("\nAssets (%d files in assets/)\n", len(m.AssetFiles))
		for _, a := range m.AssetFiles {
			p.f("  %s\n", a)
		}
	}
	if l := in.Checkpoint; l != nil {
		p.checkpoint(l)
	}
	if v := in.Verify; v != nil {
		p.verify(v)
	}
	if c := in.Contract; c != nil {
		p.contract(c)
	}
	return p.err
}

type printer struct {
	w   io.Writer
	err error
}

func (p *printer) f(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

func (p *printer) table(write func(tw *tabwriter.Writer)) {
	if p.err != nil {
		return
	}
	tw := tabwriter.NewWriter(p.w, 0, 0, 2, ' ', 0)
	write(tw)
	p.err = tw.Flush()
}

func (p *printer) signatures(g *MetaGraph) {
	for _, s := range g.Signatures {
		note := ""
		if s.Internal {
			note = " (initializer, not a user signature)"
		}
		p.f("\n  signature %q%s\n", s.Key, note)
		if s.Internal {
			continue
		}
		p.table(func(tw *tabwriter.Writer) {
			for _, dir := range []struct {
				name string
				ts   []Tensor
			}{{"input", s.Inputs}, {"output", s.Outputs}} {
				for _, t := range dir.ts {
					fmt.Fprintf(tw, "    %s\t%s\t%s\t%s\t%s\n", dir.name, t.Key, t.DType, t.Shape, t.Name)
				}
			}
		})
	}
}

func (p *printer) variables(g *MetaGraph) {
	var params int64
	trainable := 0
	for _, v := range g.Variables {
		if n := v.Shape.NumElements(); n > 0 {
			params += n
		}
		if v.Trainable {
			trainable++
		}
	}
	p.f("\n  variables: %d (%d trainable), %d values\n", len(g.Variables), trainable, params)
	p.table(func(tw *tabwriter.Writer) {
		for _, v := range g.Variables {
			t := "frozen"
			if v.Trainable {
				t = "trainable"
			}
			fmt.Fprintf(tw, "    %s\t%s\t%s\t%s\n", v.Path, v.DType, v.Shape, t)
		}
	})
}

func (p *printer) checkpoint(l *CheckpointListing) {
	p.f("\nCheckpoint %s: %d tensors, %d shard(s), index %d bytes", l.Prefix, len(l.Entries), l.Header.NumShards, l.Table.FileSize)
	compressed := 0
	for _, b := range l.Table.Data {
		if b.Compressed {
			compressed++
		}
	}
	if compressed > 0 {
		p.f(", %d of %d blocks Snappy-compressed", compressed, len(l.Table.Data))
	}
	p.f("\n")
	dtypes := make([]string, 0, len(l.Elements))
	for d := range l.Elements {
		dtypes = append(dtypes, d)
	}
	sort.Strings(dtypes)
	for _, d := range dtypes {
		p.f("  %s: %d values, %d bytes\n", d, l.Elements[d], l.Bytes[d])
	}
	p.table(func(tw *tabwriter.Writer) {
		for _, e := range l.Entries {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%d bytes\n", e.Key, e.DType, shapeText(e.Shape), e.Size)
		}
	})
}

func shapeText(s []int64) string { return Shape{Dims: s}.String() }

func (p *printer) verify(v *bundle.VerifyReport) {
	p.f("\nVerify: %d entries match their CRC32C, %d bad, %d skipped\n", v.Checked, len(v.Bad), v.Skipped)
	for _, s := range v.Shards {
		state := "ok"
		if s.Problem != "" {
			state = s.Problem
		}
		p.f("  %s: %s\n", s.Path, state)
	}
	for _, b := range v.Bad {
		p.f("  BAD %s: %s\n", b.Key, b.Problem)
	}
}

func (p *printer) contract(c *ContractReport) {
	verdict := "MET"
	if !c.Met() {
		verdict = fmt.Sprintf("NOT MET (%d unmet)", len(c.Unmet()))
	}
	p.f("\nTraining contract v%d, tags [%s]: %s\n", c.ContractVersion, strings.Join(c.Tags, ", "), verdict)
	if a := c.Contract; a != nil {
		p.f("  contract asset: BATCH_SIZE %d, IMAGE_SHAPE %v, NUM_CLASSES %d, %d anchors, optimizer %s, train_bn %v\n",
			a.Model.BatchSize, a.Model.ImageShape, a.Model.NumClasses, a.Model.AnchorCount(), a.Optimizer, a.TrainBN)
	}
	if v := c.Manifest; v != nil {
		var params int64
		trainable := 0
		for _, x := range v.Variables {
			params += x.NumElements()
			if x.Trainable {
				trainable++
			}
		}
		p.f("  variables manifest: %d variables (%d trainable), %d parameters\n", len(v.Variables), trainable, params)
	}
	p.table(func(tw *tabwriter.Writer) {
		for _, q := range c.Requirements {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", statusMark(q), q.ID, q.Got)
		}
	})
	for _, q := range c.Unmet() {
		p.f("  fix %s: %s\n", q.ID, q.Fix)
	}
}

func statusMark(q Requirement) string {
	switch q.Status {
	case Met:
		return "[ok]"
	case Absent:
		return "[--]"
	default:
		return "[" + strings.ToUpper(string(q.Status)) + "]"
	}
}
