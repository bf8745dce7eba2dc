package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"
)

// EnvPrefix starts the environment variable of every key:
// GRAFTRAIN_TRAIN_SEED sets train.seed.
const EnvPrefix = "GRAFTRAIN_"

// FlagKeyAnnotation is the pflag annotation that binds a flag to a config
// key: a flag annotated "config-key" → ["train.max_steps"] sets that key
// when given on the command line.
const FlagKeyAnnotation = "config-key"

// Sources are the layers above the embedded defaults.
type Sources struct {
	File  string         // --config path; empty for none
	Sets  []string       // --set key=value, applied last
	Flags *pflag.FlagSet // command flags bound to config keys (annotation "config-key")
	Viper *viper.Viper   // instance to load into; nil makes one

	// Environ is the environment as KEY=VALUE lines; nil reads os.Environ.
	Environ []string
}

// pathKeys are resolved against the config file's directory when a
// relative value comes from the file.
var pathKeys = []string{
	"model.dir", "model.variables",
	"data.train.annotations", "data.train.images",
	"data.val.annotations", "data.val.images",
}

// stageOwnKeys are the stage keys every stage gives itself; the others are
// filled from the default stage when a stage leaves them out.
var stageOwnKeys = []string{"name", "layers", "epochs", "steps"}

// Load layers the sources over the defaults (defaults < file < environment
// < flags < --set), checks every key and type, decodes into Config through
// the viper instance and validates. The error joins every problem found,
// each a *FieldError naming the key, its source and the fix.
func Load(s Sources) (*Config, error) {
	l := &loader{src: sourceMap{}}
	def, err := parseYAML(DefaultsYAML, Source{Layer: LayerDefault}, l.src)
	if err != nil {
		return nil, fmt.Errorf("embedded defaults: %w", err)
	}
	l.tree = def
	defaults := deepCopy(def).(map[string]any)
	l.stageTemplate = stageTemplate(def)
	for k, s := range l.src {
		l.src[k] = Source{Layer: s.Layer} // defaults print as "default"
	}

	if s.File != "" {
		if err := l.file(s.File); err != nil {
			return nil, err
		}
	}
	l.fillStages()
	environ := s.Environ
	if environ == nil {
		environ = os.Environ()
	}
	l.env(environ)
	l.flags(s.Flags)
	l.sets(s.Sets)
	l.fillStages()

	ch := &checker{src: l.src, defaults: defaults}
	checked, _ := ch.check("", l.tree, configType)
	tree, _ := checked.(map[string]any)
	if tree == nil {
		tree = map[string]any{}
	}
	l.resolvePaths(tree, s.File)

	c, err := decode(tree, s.Viper)
	if err != nil {
		return nil, errors.Join(append(l.errs, append(ch.errs, err)...)...)
	}
	c.sources = l.src
	errs := append(l.errs, ch.errs...)
	for _, fe := range FieldErrors(c.Validate()) {
		if !underAny(fe.Key, ch.bad) {
			errs = append(errs, fe)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// underAny reports whether key is one of paths, below one, or above one
// (a problem already reported through a dropped value).
func underAny(key string, paths []string) bool {
	for _, p := range paths {
		if key == p || strings.HasPrefix(key, p+".") || strings.HasPrefix(p, key+".") {
			return true
		}
	}
	return false
}

type loader struct {
	tree          map[string]any
	src           sourceMap
	stageTemplate map[string]any
	errs          []error
}

func (l *loader) fail(key string, src Source, problem, fix string) {
	l.errs = append(l.errs, &FieldError{Key: key, Source: src, Problem: problem, Fix: fix})
}

// parseYAML reads YAML through its node tree so every value keeps its line.
func parseYAML(data []byte, src Source, m sourceMap) (map[string]any, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if doc.Kind == 0 {
		return map[string]any{}, nil
	}
	v, err := fromNode(&doc, "", src, m)
	if err != nil {
		return nil, err
	}
	switch t := v.(type) {
	case map[string]any:
		return t, nil
	case nil:
		return map[string]any{}, nil
	}
	return nil, fmt.Errorf("the top level must be a mapping of keys, not %s", describe(v))
}

// file merges the --config file. YAML and JSON keep line numbers; TOML is
// read by viper's codec and reports the file alone.
func (l *loader) file(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	src := Source{Layer: LayerFile, Name: path}
	lines := sourceMap{}
	var tree map[string]any
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".yaml", ".yml", "":
		tree, err = parseYAML(data, src, lines)
	case ".toml", ".json":
		if ext == ".json" {
			// JSON is YAML: the node parser gives lines; viper's codec
			// takes what YAML rejects (tab indentation).
			if tree, err = parseYAML(data, src, lines); err == nil {
				break
			}
			lines = sourceMap{}
		}
		fv := viper.New()
		fv.SetConfigType(ext[1:])
		if err = fv.ReadConfig(bytes.NewReader(data)); err == nil {
			tree, _ = lowerKeys(fv.AllSettings()).(map[string]any)
			if tree == nil {
				tree = map[string]any{}
			}
		}
	default:
		return fmt.Errorf("config file %s: unknown extension %q; use .yaml, .yml, .toml or .json", path, ext)
	}
	if err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	merge(l.tree, tree, "", l.src, func(p string) Source {
		if s, ok := lines[p]; ok {
			return s
		}
		return src
	})
	return nil
}

// stageTemplate is the default stage without the keys each stage owns.
func stageTemplate(def map[string]any) map[string]any {
	stages, _ := def["stages"].([]any)
	if len(stages) == 0 {
		return map[string]any{}
	}
	first, _ := stages[0].(map[string]any)
	t := deepCopy(first).(map[string]any)
	for _, k := range stageOwnKeys {
		delete(t, k)
	}
	return t
}

// fillStages gives every stage the default stage's settings it leaves out
// (a stage's loss_weights missing a loss get that loss's default weight).
func (l *loader) fillStages() {
	stages, _ := l.tree["stages"].([]any)
	for i, st := range stages {
		m, ok := st.(map[string]any)
		if !ok {
			continue
		}
		path := joinPath("stages", fmt.Sprint(i))
		fillMissing(m, l.stageTemplate, path, l.src)
		for _, k := range []string{"epochs", "steps"} {
			if _, ok := m[k]; !ok {
				m[k] = 0 // the other one gives the stage's length
				l.src[joinPath(path, k)] = Source{Layer: LayerDefault}
			}
		}
	}
}

func fillMissing(dst, tmpl map[string]any, path string, m sourceMap) {
	for k, tv := range tmpl {
		p := joinPath(path, k)
		dv, ok := dst[k]
		if !ok {
			dst[k] = deepCopy(tv)
			m.mark(p, dst[k], Source{Layer: LayerDefault})
			continue
		}
		dm, dok := dv.(map[string]any)
		tm, tok := tv.(map[string]any)
		if dok && tok {
			fillMissing(dm, tm, p, m)
		}
	}
}

// parseValue reads a value from the command line or the environment as
// YAML, except where the key takes a string: there the text is taken as is
// (a regex like ^fpn_ or a path stays text) unless it is quoted.
func parseValue(key, text string) (any, error) {
	if t, ok := typeAt(key); ok && t.Kind() == reflect.String && !strings.HasPrefix(text, `"`) && !strings.HasPrefix(text, `'`) {
		return text, nil
	}
	var v any
	if err := yaml.Unmarshal([]byte(text), &v); err != nil {
		return nil, fmt.Errorf("value %q is not valid YAML: %w", text, err)
	}
	return lowerKeys(v), nil
}

// set applies one override at a dotted key path.
func (l *loader) set(key, text string, src Source) {
	segs := strings.Split(strings.ToLower(key), ".")
	for _, s := range segs {
		if s == "" {
			l.fail(key, src, "empty part in the key", "write dotted keys like stages.1.learning_rate")
			return
		}
	}
	val, err := parseValue(strings.Join(segs, "."), text)
	if err != nil {
		l.fail(key, src, err.Error(), "quote strings with special characters, write lists as [a, b]")
		return
	}
	p, err := setPath(l.tree, segs, val)
	if err != nil {
		l.fail(key, src, err.Error(), "check the key against `graftrain config show`")
		return
	}
	l.src.drop(p)
	l.src.mark(p, mustGet(l.tree, p), src)
	for q := p; strings.Contains(q, "."); {
		q = q[:strings.LastIndexByte(q, '.')]
		if _, ok := l.src[q]; !ok {
			l.src[q] = src // a mapping or list item this override created
		}
	}
	if p != strings.Join(segs, ".") {
		l.src[p] = src
	}
}

func mustGet(tree map[string]any, path string) any {
	v, _ := getPath(tree, path)
	return v
}

// env applies GRAFTRAIN_* variables. A variable that maps to no key is an
// error when it looks like one (it starts with a section name or is close
// to a key's variable); others (GRAFTRAIN_FIXTURES) are not config.
func (l *loader) env(environ []string) {
	var names []string
	vals := map[string]string{}
	for _, kv := range environ {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) {
			continue
		}
		names = append(names, name)
		vals[name] = val
	}
	slices.Sort(names)
	var sections []string
	for _, f := range fields(configType) {
		sections = append(sections, EnvPrefix+strings.ToUpper(keyOf(f)))
	}
	for _, name := range names {
		src := Source{Layer: LayerEnv, Name: name}
		path, ok := envPath(strings.TrimPrefix(name, EnvPrefix), configType)
		if !ok {
			all := envNames()
			s, close := nearest(name, all)
			close = close && levenshtein(name, s) <= 2 // names are long: only near-misses
			section := slices.ContainsFunc(sections, func(p string) bool { return name == p || strings.HasPrefix(name, p+"_") })
			if !close && !section {
				continue
			}
			fix := "unset it or name a key: " + EnvPrefix + " + the key in upper case with '_' for '.'"
			if close {
				fix = "did you mean " + s + "?"
			}
			l.fail("", src, "names no config key", fix)
			continue
		}
		l.set(strings.Join(path, "."), vals[name], src)
	}
}

// flags applies the command-line flags bound to keys that were given.
func (l *loader) flags(fs *pflag.FlagSet) {
	if fs == nil {
		return
	}
	fs.VisitAll(func(f *pflag.Flag) {
		keys := f.Annotations[FlagKeyAnnotation]
		if len(keys) == 0 || !f.Changed {
			return
		}
		text := f.Value.String()
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			quoted := make([]string, 0, len(sv.GetSlice()))
			for _, e := range sv.GetSlice() {
				b, _ := yaml.Marshal(e)
				quoted = append(quoted, strings.TrimSpace(string(b)))
			}
			text = "[" + strings.Join(quoted, ", ") + "]"
		}
		for _, k := range keys {
			l.set(k, text, Source{Layer: LayerFlag, Name: f.Name})
		}
	})
}

// sets applies --set key=value arguments in order.
func (l *loader) sets(sets []string) {
	for _, kv := range sets {
		src := Source{Layer: LayerSet, Name: kv}
		key, val, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(key) == "" {
			l.fail("", src, "not key=value", "write --set key=value, e.g. --set train.seed=7")
			continue
		}
		l.set(strings.TrimSpace(key), val, src)
	}
}

// resolvePaths makes relative paths that came from the config file
// absolute, relative to the file's directory.
func (l *loader) resolvePaths(tree map[string]any, file string) {
	if file == "" {
		return
	}
	dir, err := filepath.Abs(filepath.Dir(file))
	if err != nil {
		return
	}
	for _, k := range pathKeys {
		v, ok := getPath(tree, k)
		s, _ := v.(string)
		if !ok || s == "" || filepath.IsAbs(s) || l.src.lookup(k).Layer != LayerFile {
			continue
		}
		segs := strings.Split(k, ".")
		_, _ = setPath(tree, segs, filepath.Join(dir, s))
	}
}

// decode loads the checked tree into the viper instance (so v.Get works on
// the effective config) and decodes it strictly.
func decode(tree map[string]any, v *viper.Viper) (*Config, error) {
	if v == nil {
		v = viper.New()
	}
	data, err := yaml.Marshal(tree)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var c Config
	if err := v.UnmarshalExact(&c, viper.DecodeHook(mapstructure.ComposeDecodeHookFunc(stringToListHook))); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return &c, nil
}

// stringToListHook reads a single string where a list of strings is
// expected as a one-item list (layers: heads), and "" as an empty list.
func stringToListHook(from, to reflect.Type, data any) (any, error) {
	if from.Kind() != reflect.String || !isStringList(to) {
		return data, nil
	}
	s, _ := data.(string)
	if s == "" {
		return []string{}, nil
	}
	return []string{s}, nil
}
