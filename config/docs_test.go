package config

import (
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var fileName = regexp.MustCompile(`\.(jsonl|json|yaml|md)$`)

// docKeys lists the keys of a tree as docs/config.md writes them: list
// items as N, and for free-form mappings (groups, lr_multipliers,
// loss_weights) the entries' names.
func docKeys(path string, v any, out *[]string) {
	switch v := v.(type) {
	case map[string]any:
		for k, c := range v {
			p := joinPath(path, k)
			if m, ok := c.(map[string]any); !ok || len(m) == 0 || strings.HasSuffix(p, "loss_weights") {
				*out = append(*out, p) // a value, not a section heading
			}
			docKeys(p, c, out)
		}
	case []any:
		if !isScalarList(v) {
			for i, c := range v {
				docKeys(joinPath(path, strconv.Itoa(i)), c, out)
			}
		}
	}
}

// Every key of defaults.yaml is documented in docs/config.md, and every key
// the page names exists.
func TestDocsCoverDefaults(t *testing.T) {
	doc, err := os.ReadFile("../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	tree, err := parseYAML(DefaultsYAML, Source{}, sourceMap{})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	docKeys("", tree, &keys)
	index := regexp.MustCompile(`\.[0-9]+(\.|$)`)
	for _, k := range keys {
		k = index.ReplaceAllString(k, ".N$1")
		name := k
		if i := strings.LastIndexByte(k, '.'); i >= 0 {
			name = k[i+1:]
		}
		if strings.HasSuffix(strings.TrimSuffix(k, "."+name), "loss_weights") {
			if !strings.Contains(text, "`"+name+"`") {
				t.Errorf("loss %s of defaults.yaml is not in docs/config.md", name)
			}
			continue
		}
		if !strings.Contains(text, "`"+k+"`") {
			t.Errorf("key %s of defaults.yaml is not in docs/config.md", k)
		}
	}

	// Backquoted dotted names that start with a section must be keys.
	var sections []string
	for _, f := range fields(configType) {
		sections = append(sections, keyOf(f))
	}
	quoted := regexp.MustCompile("`([a-z_]+(\\.[a-zA-Z0-9_*]+)+)`")
	for _, m := range quoted.FindAllStringSubmatch(text, -1) {
		k := m[1]
		first, _, _ := strings.Cut(k, ".")
		if !slices.Contains(sections, first) || strings.Contains(k, "*") || fileName.MatchString(k) {
			continue
		}
		if !IsKey(strings.ReplaceAll(k, ".N", ".0")) {
			t.Errorf("docs/config.md names %s, which is not a key", k)
		}
	}
}
