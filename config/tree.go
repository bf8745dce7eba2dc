package config

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The layers are merged as a plain tree before decoding: map[string]any for
// mappings (keys lower-cased), []any for sequences, and YAML scalars. The
// tree keeps list indexes addressable (stages.1.learning_rate), which viper's
// own key handling does not, and lets every node carry its source.

// sourceMap records the source of every node of the tree by dotted path.
type sourceMap map[string]Source

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// drop forgets the sources of path and everything below it.
func (m sourceMap) drop(path string) {
	for k := range m {
		if k == path || strings.HasPrefix(k, path+".") {
			delete(m, k)
		}
	}
}

// mark records src for the node v at path and every node below it.
func (m sourceMap) mark(path string, v any, src Source) {
	m[path] = src
	switch v := v.(type) {
	case map[string]any:
		for k, c := range v {
			m.mark(joinPath(path, k), c, src)
		}
	case []any:
		if !isScalarList(v) {
			for i, c := range v {
				m.mark(joinPath(path, strconv.Itoa(i)), c, src)
			}
		}
	}
}

// isScalarList reports whether a list holds only scalars; such a list is one
// value (model.rpn_anchor_scales), not a container of addressable nodes.
func isScalarList(l []any) bool {
	for _, e := range l {
		switch e.(type) {
		case map[string]any, []any:
			return false
		}
	}
	return true
}

// fromNode converts a YAML node to a tree value, recording the line of
// every node in m under the source template src.
func fromNode(n *yaml.Node, path string, src Source, m sourceMap) (any, error) {
	w := nodeWalk{active: map[*yaml.Node]bool{}, budget: maxNodes}
	return w.convert(n, path, src, m)
}

// maxNodes bounds the nodes one file may expand to, so that aliases that
// multiply (a "billion laughs" file) fail instead of eating memory.
const maxNodes = 10_000

type nodeWalk struct {
	active map[*yaml.Node]bool // nodes being converted: an alias back to one is a cycle
	budget int
}

func (w *nodeWalk) convert(n *yaml.Node, path string, src Source, m sourceMap) (any, error) {
	for n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if w.active[n] {
		return nil, fmt.Errorf("line %d: alias refers to a node that contains it", n.Line)
	}
	if w.budget--; w.budget < 0 {
		return nil, fmt.Errorf("line %d: more than %d values (aliases expand too far)", n.Line, maxNodes)
	}
	w.active[n] = true
	defer delete(w.active, n)
	s := src
	s.Line = n.Line
	if src.Layer == LayerFile && path != "" {
		m[path] = s
	}
	switch n.Kind {
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			kn, vn := n.Content[i], n.Content[i+1]
			if kn.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: mapping key must be a plain name", kn.Line)
			}
			key := strings.ToLower(kn.Value)
			p := joinPath(path, key)
			v, err := w.convert(vn, p, src, m)
			if err != nil {
				return nil, err
			}
			ks := src
			ks.Line = kn.Line
			m[p] = ks
			out[key] = v
		}
		return out, nil
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for i, c := range n.Content {
			v, err := w.convert(c, joinPath(path, strconv.Itoa(i)), src, m)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		if isScalarList(out) {
			for i := range out {
				delete(m, joinPath(path, strconv.Itoa(i)))
			}
		}
		return out, nil
	case yaml.ScalarNode:
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
		return v, nil
	}
	return nil, fmt.Errorf("line %d: unsupported YAML node", n.Line)
}

// lowerKeys lower-cases every mapping key, as viper does, and turns the
// map types other decoders produce into the tree's.
func lowerKeys(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, c := range v {
			out[strings.ToLower(k)] = lowerKeys(c)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(v))
		for k, c := range v {
			out[strings.ToLower(fmt.Sprint(k))] = lowerKeys(c)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, c := range v {
			out[i] = lowerKeys(c)
		}
		return out
	case []map[string]any:
		out := make([]any, len(v))
		for i, c := range v {
			out[i] = lowerKeys(c)
		}
		return out
	}
	return v
}

// replaceKeys are mappings a file replaces whole instead of merging into:
// a file that defines groups defines all of them, so that its groups do not
// overlap the default ones. Environment and --set still add single groups.
var replaceKeys = []string{"groups"}

// merge lays src over dst: mappings merge key by key, everything else
// (lists included) replaces. Sources of replaced nodes are updated.
func merge(dst map[string]any, src map[string]any, path string, m sourceMap, s func(path string) Source) {
	for _, k := range slices.Sorted(maps.Keys(src)) {
		v := src[k]
		p := joinPath(path, k)
		dm, dok := dst[k].(map[string]any)
		sm, sok := v.(map[string]any)
		if dok && sok && len(sm) > 0 && !slices.Contains(replaceKeys, p) {
			m[p] = s(p)
			merge(dm, sm, p, m, s)
			continue
		}
		if _, existed := dst[k]; existed {
			m.drop(p)
		}
		dst[k] = v
		markFrom(m, p, v, s)
	}
}

// markFrom is mark with a per-path source (file lines).
func markFrom(m sourceMap, path string, v any, s func(path string) Source) {
	m[path] = s(path)
	switch v := v.(type) {
	case map[string]any:
		for k, c := range v {
			markFrom(m, joinPath(path, k), c, s)
		}
	case []any:
		if !isScalarList(v) {
			for i, c := range v {
				markFrom(m, joinPath(path, strconv.Itoa(i)), c, s)
			}
		}
	}
}

// setPath sets the value at the dotted path segs, creating mappings on the
// way; a list index may equal the list's length to append. It returns the
// path whose source the value now defines (the enclosing list for an
// element of a list of scalars).
func setPath(root map[string]any, segs []string, val any) (string, error) {
	var cur any = root
	path := ""
	for i, seg := range segs {
		last := i == len(segs)-1
		switch c := cur.(type) {
		case map[string]any:
			key := strings.ToLower(seg)
			p := joinPath(path, key)
			if last {
				c[key] = val
				return p, nil
			}
			next, ok := c[key]
			if !ok || next == nil {
				if _, err := strconv.Atoi(segs[i+1]); err == nil {
					next = []any{}
				} else {
					next = map[string]any{}
				}
				c[key] = next
			}
			cur, path = next, p
		case []any:
			idx, err := strconv.Atoi(seg)
			if err != nil || idx < 0 {
				return "", fmt.Errorf("%s is a list: %q is not an index", path, seg)
			}
			if idx > len(c) {
				return "", fmt.Errorf("%s has %d items: index %d is past its end (use %d to append)", path, len(c), idx, len(c))
			}
			if idx == len(c) {
				var fresh any = map[string]any{}
				if last {
					fresh = val
				}
				c = append(c, fresh)
				if err := replaceAt(root, segs[:i], c); err != nil {
					return "", err
				}
			}
			p := joinPath(path, seg)
			if last {
				c[idx] = val
				if isScalarList(c) {
					return path, nil
				}
				return p, nil
			}
			if c[idx] == nil {
				c[idx] = map[string]any{}
			}
			cur, path = c[idx], p
		default:
			return "", fmt.Errorf("%s holds a single value (%v): it has no key %q", path, c, seg)
		}
	}
	return path, nil
}

// replaceAt stores v at the path segs (used when append reallocates a list).
func replaceAt(root map[string]any, segs []string, v any) error {
	var cur any = root
	for i, seg := range segs {
		last := i == len(segs)-1
		switch c := cur.(type) {
		case map[string]any:
			key := strings.ToLower(seg)
			if last {
				c[key] = v
				return nil
			}
			cur = c[key]
		case []any:
			idx, _ := strconv.Atoi(seg)
			if last {
				c[idx] = v
				return nil
			}
			cur = c[idx]
		}
	}
	return nil
}

// getPath returns the node at a dotted path.
func getPath(root map[string]any, path string) (any, bool) {
	var cur any = root
	for seg := range strings.SplitSeq(path, ".") {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[seg]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			idx, err := strconv.Atoi(seg)
			if err != nil || idx < 0 || idx >= len(c) {
				return nil, false
			}
			cur = c[idx]
		default:
			return nil, false
		}
	}
	return cur, true
}

// deepCopy copies a tree so that layers never share mutable nodes.
func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, c := range v {
			out[k] = deepCopy(c)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, c := range v {
			out[i] = deepCopy(c)
		}
		return out
	}
	return v
}
