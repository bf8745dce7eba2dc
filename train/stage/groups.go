package stage

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/graftrain/graftrain/config"
	"github.com/graftrain/graftrain/graphs"
)

// MatterportPrefix selects matterport's own layer regex for a preset, e.g.
// "matterport:heads" or "matterport:4+".
const MatterportPrefix = "matterport:"

// Group is a named set of variables, defined by a regex.
type Group struct {
	Name  string
	Regex string
	// Variables are the manifest indices of the group's variables, in order.
	Variables []int
	Params    int64
}

// layerName is the Keras layer a variable belongs to: the manifest's layer,
// or the path up to its last component when the manifest leaves it empty.
func layerName(v graphs.Variable) string {
	if v.Layer != "" {
		return v.Layer
	}
	if dir := path.Dir(v.Path); dir != "." {
		return dir
	}
	return v.Path
}

// assignGroups compiles the groups and puts every variable in the group
// that matches it. Groups are ordered by their first variable; groups that
// match nothing come last, by name. groupOf[i] is -1 for a variable in no
// group.
func assignGroups(groups map[string]string, vars []graphs.Variable) ([]Group, []int, error) {
	names := slices.Sorted(maps.Keys(groups))
	res := make([]*regexp.Regexp, len(names))
	var errs []error
	for i, n := range names {
		re := groups[n]
		if re == "" {
			errs = append(errs, fmt.Errorf("groups.%s: empty regex (it would match every variable)", n))
			continue
		}
		if config.IsPreset(n) || strings.HasPrefix(n, MatterportPrefix) {
			errs = append(errs, fmt.Errorf("groups.%s: the name is a layer preset; rename the group", n))
		}
		c, err := regexp.Compile(re)
		if err != nil {
			errs = append(errs, fmt.Errorf("groups.%s: bad regex %q: %w", n, re, err))
			continue
		}
		res[i] = c
	}
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}

	groupOf := make([]int, len(vars))
	// overlaps collects variables matched by several groups, keyed by the
	// set of groups, so that the error names each conflict once.
	type overlap struct {
		groups []string
		paths  []string
	}
	var overlaps []*overlap
	byKey := map[string]*overlap{}
	var hit []int
	for i, v := range vars {
		hit = hit[:0]
		layer := layerName(v)
		for gi, re := range res {
			if re.MatchString(v.Path) || re.MatchString(layer) {
				hit = append(hit, gi)
			}
		}
		groupOf[i] = -1
		switch len(hit) {
		case 0:
		case 1:
			groupOf[i] = hit[0]
		default:
			gs := make([]string, len(hit))
			for k, gi := range hit {
				gs[k] = names[gi]
			}
			key := strings.Join(gs, ",")
			o := byKey[key]
			if o == nil {
				o = &overlap{groups: gs}
				byKey[key] = o
				overlaps = append(overlaps, o)
			}
			o.paths = append(o.paths, v.Path)
		}
	}
	for _, o := range overlaps {
		errs = append(errs, fmt.Errorf("groups %s all match %d variable(s) (%s): a variable must be in exactly one group; narrow a regex",
			strings.Join(o.groups, ", "), len(o.paths), examples(o.paths)))
	}
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}

	// Order groups by their first variable, so tables read like the model.
	first := make([]int, len(names))
	for gi := range first {
		first[gi] = len(vars)
	}
	for i, gi := range groupOf {
		if gi >= 0 && first[gi] == len(vars) {
			first[gi] = i
		}
	}
	order := make([]int, len(names))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(first[a], first[b]) })
	rank := make([]int, len(names))
	out := make([]Group, len(names))
	for r, gi := range order {
		rank[gi] = r
		out[r] = Group{Name: names[gi], Regex: groups[names[gi]]}
	}
	for i, gi := range groupOf {
		if gi < 0 {
			continue
		}
		g := &out[rank[gi]]
		groupOf[i] = rank[gi]
		g.Variables = append(g.Variables, i)
		n, _ := elements(vars[i].Shape)
		g.Params += n
	}
	return out, groupOf, nil
}

// examples lists up to three paths, and how many more there are.
func examples(paths []string) string {
	const n = 3
	if len(paths) <= n {
		return strings.Join(paths, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(paths[:n], ", "), len(paths)-n)
}

// matterportRegex returns matterport's layer regex for a preset name,
// anchored at both ends as Python's re.fullmatch applies it.
func matterportRegex(preset string) (*regexp.Regexp, bool) {
	re, ok := config.PresetRegex(preset)
	if !ok {
		return nil, false
	}
	c, err := regexp.Compile(`^(?:` + re + `)$`)
	return c, err == nil
}
