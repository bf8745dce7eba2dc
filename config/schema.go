package config

import (
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// The schema is the Config struct itself: its mapstructure tags are the
// keys, its field types the value types. Free-form maps (groups,
// lr_multipliers, loss_weights) take user-chosen names.

var configType = reflect.TypeFor[Config]()

// fields returns the keyed fields of a struct type in declaration order.
func fields(t reflect.Type) []reflect.StructField {
	var out []reflect.StructField
	for i := range t.NumField() {
		f := t.Field(i)
		if tag := keyOf(f); tag != "" && f.IsExported() {
			out = append(out, f)
		}
	}
	return out
}

func keyOf(f reflect.StructField) string {
	tag, _, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
	return tag
}

func fieldByKey(t reflect.Type, key string) (reflect.StructField, bool) {
	for _, f := range fields(t) {
		if keyOf(f) == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// isStringList reports a []string field, where a single string is read as
// a one-item list (stage layers: a preset or group names).
func isStringList(t reflect.Type) bool {
	return t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String
}

// typeAt returns the schema type at a dotted path, or false when the path
// names no key.
func typeAt(path string) (reflect.Type, bool) {
	t := configType
	if path == "" {
		return t, true
	}
	for seg := range strings.SplitSeq(path, ".") {
		switch t.Kind() {
		case reflect.Struct:
			f, ok := fieldByKey(t, seg)
			if !ok {
				return nil, false
			}
			t = f.Type
		case reflect.Map:
			t = t.Elem()
		case reflect.Slice:
			if _, err := strconv.Atoi(seg); err != nil {
				return nil, false
			}
			t = t.Elem()
		default:
			return nil, false
		}
	}
	return t, true
}

// schemaKeys lists every key path of the schema; list items appear as
// "N" and free map keys as "NAME" (used to suggest a misplaced key).
func schemaKeys(t reflect.Type, prefix string, out *[]string) {
	switch t.Kind() {
	case reflect.Struct:
		for _, f := range fields(t) {
			p := joinPath(prefix, keyOf(f))
			*out = append(*out, p)
			schemaKeys(f.Type, p, out)
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Struct {
			schemaKeys(t.Elem(), joinPath(prefix, "N"), out)
		}
	}
}

// typeName says in words what a key takes, for error messages.
func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "an integer"
	case reflect.Float64, reflect.Float32:
		return "a number"
	case reflect.Slice:
		if isStringList(t) {
			return "a list of strings (or one string)"
		}
		return "a list of " + strings.TrimPrefix(strings.TrimPrefix(typeName(t.Elem()), "a "), "an ") + "s"
	case reflect.Map:
		return "a mapping of name to " + strings.TrimPrefix(strings.TrimPrefix(typeName(t.Elem()), "a "), "an ")
	case reflect.Struct:
		return "a mapping"
	}
	return t.String()
}

func describe(v any) string {
	switch v := v.(type) {
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	case string:
		return fmt.Sprintf("the string %q", v)
	case bool:
		return fmt.Sprintf("the boolean %v", v)
	case nil:
		return "an empty value"
	}
	return fmt.Sprintf("%v", v)
}

// checker walks the merged tree against the schema, reporting unknown keys
// and wrong types and normalising scalars (an integer where a number or a
// string is expected) so that decoding cannot fail.
type checker struct {
	src      sourceMap
	defaults map[string]any // a dropped value falls back to its default
	errs     []error
	bad      []string // paths dropped for an error; validation skips them
}

func (c *checker) fail(path, problem, fix string) {
	c.errs = append(c.errs, &FieldError{Key: path, Source: c.src.lookup(path), Problem: problem, Fix: fix})
	c.bad = append(c.bad, path)
}

// unknown reports a key the schema lacks; dropping it leaves nothing for
// validation to trip over, so it is not marked bad.
func (c *checker) unknown(path, fix string) {
	c.errs = append(c.errs, &FieldError{Key: path, Source: c.src.lookup(path), Problem: "unknown key", Fix: fix})
}

func (c *checker) check(path string, v any, t reflect.Type) (any, bool) {
	switch t.Kind() {
	case reflect.Struct:
		if v == nil {
			return map[string]any{}, true
		}
		m, ok := v.(map[string]any)
		if !ok {
			c.fail(path, "is "+describe(v)+", want "+typeName(t), "write it as a mapping of keys")
			return nil, false
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			p := joinPath(path, k)
			f, ok := fieldByKey(t, k)
			if !ok {
				c.unknown(p, unknownKeyFix(t, path, k))
				delete(m, k)
				continue
			}
			nv, ok := c.check(p, m[k], f.Type)
			if !ok {
				delete(m, k)
				if dv, found := c.fallback(p, f.Type); found {
					m[k] = dv
				}
				continue
			}
			m[k] = nv
		}
		return m, true
	case reflect.Map:
		if v == nil {
			return map[string]any{}, true
		}
		m, ok := v.(map[string]any)
		if !ok {
			c.fail(path, "is "+describe(v)+", want "+typeName(t), "write it as name: value lines")
			return nil, false
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			p := joinPath(path, k)
			if k == "" || strings.ContainsAny(k, ". ") {
				c.fail(p, fmt.Sprintf("name %q is empty or holds a dot or space", k), "use lower-case names of letters, digits, '_' or '-'")
				delete(m, k)
				continue
			}
			nv, ok := c.check(p, m[k], t.Elem())
			if !ok {
				delete(m, k)
				continue
			}
			m[k] = nv
		}
		return m, true
	case reflect.Slice:
		if v == nil {
			return []any{}, true
		}
		if s, ok := v.(string); ok && isStringList(t) {
			return s, true // the decode hook makes it a one-item list
		}
		l, ok := v.([]any)
		if !ok {
			c.fail(path, "is "+describe(v)+", want "+typeName(t), "write a YAML list, e.g. [a, b]")
			return nil, false
		}
		okAll := true
		for i, e := range l {
			nv, ok := c.check(joinPath(path, strconv.Itoa(i)), e, t.Elem())
			if !ok {
				okAll = false
				continue
			}
			l[i] = nv
		}
		return l, okAll
	case reflect.String:
		switch x := v.(type) {
		case nil:
			return "", true
		case string:
			return x, true
		case int, int64, uint64, float64:
			return fmt.Sprint(x), true
		}
	case reflect.Bool:
		if b, ok := v.(bool); ok {
			return b, true
		}
	case reflect.Int, reflect.Int64, reflect.Int32:
		switch x := v.(type) {
		case int:
			return int64(x), true
		case int64:
			return x, true
		case uint64:
			if x <= 1<<63-1 {
				return int64(x), true
			}
		case float64: // JSON has numbers only; 2.0 is an integer, 1.5 is not
			if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
				return int64(x), true
			}
		case nil:
			return int64(0), true
		}
	case reflect.Float64, reflect.Float32:
		switch x := v.(type) {
		case int:
			return float64(x), true
		case int64:
			return float64(x), true
		case uint64:
			return float64(x), true
		case float64:
			return x, true
		case nil:
			return 0.0, true
		}
	}
	c.fail(path, "is "+describe(v)+", want "+typeName(t), "give "+typeName(t))
	return nil, false
}

// fallback returns the default value of a key whose given value was
// rejected, so that validation does not report the gap as a second problem.
func (c *checker) fallback(path string, t reflect.Type) (any, bool) {
	if c.defaults == nil {
		return nil, false
	}
	dv, ok := getPath(c.defaults, path)
	if !ok {
		return nil, false
	}
	quiet := &checker{src: sourceMap{}}
	v, ok := quiet.check(path, deepCopy(dv), t)
	return v, ok
}

// unknownKeyFix suggests the nearest valid key: a sibling with a similar
// name first, else a key of the same name elsewhere (a misplaced key).
func unknownKeyFix(t reflect.Type, parent, key string) string {
	var siblings []string
	for _, f := range fields(t) {
		siblings = append(siblings, keyOf(f))
	}
	if s, ok := nearest(key, siblings); ok {
		return "did you mean " + joinPath(parent, s) + "?"
	}
	all := allKeys()
	var same []string
	for _, k := range all {
		if k == key || strings.HasSuffix(k, "."+key) {
			same = append(same, strings.ReplaceAll(k, ".N.", ".0."))
		}
	}
	if len(same) > 0 {
		return "did you mean " + strings.Join(same, " or ") + "? (the key belongs there)"
	}
	if s, ok := nearest(joinPath(parent, key), all); ok {
		return "did you mean " + strings.ReplaceAll(s, ".N.", ".0.") + "?"
	}
	return "remove it; valid keys here: " + strings.Join(siblings, ", ")
}

// envPath maps the part of an environment variable name after GRAFTRAIN_
// to a key path, following the schema: struct keys upper-cased with dots
// as '_', list indexes as numbers, free map keys as the rest of the name in
// lower case (GRAFTRAIN_STAGES_1_LR_MULTIPLIERS_BACKBONE).
func envPath(rest string, t reflect.Type) ([]string, bool) {
	switch t.Kind() {
	case reflect.Struct:
		for _, f := range fields(t) {
			k := keyOf(f)
			up := strings.ToUpper(k)
			if rest == up {
				return []string{k}, true
			}
			if after, ok := strings.CutPrefix(rest, up+"_"); ok {
				if sub, ok := envPath(after, f.Type); ok {
					return append([]string{k}, sub...), true
				}
			}
		}
	case reflect.Map:
		if rest != "" {
			return []string{strings.ToLower(rest)}, true
		}
	case reflect.Slice:
		if t.Elem().Kind() != reflect.Struct {
			return nil, false
		}
		num, after, _ := strings.Cut(rest, "_")
		if _, err := strconv.Atoi(num); err != nil || after == "" {
			return nil, false
		}
		if sub, ok := envPath(after, t.Elem()); ok {
			return append([]string{num}, sub...), true
		}
	}
	return nil, false
}

// allKeys lists the schema's keys once.
var allKeys = sync.OnceValue(func() []string {
	var all []string
	schemaKeys(configType, "", &all)
	return all
})

// envNames lists the environment variable of every key (for suggestions).
func envNames() []string {
	all := allKeys()
	out := make([]string, len(all))
	for i, k := range all {
		out[i] = EnvPrefix + strings.ToUpper(strings.ReplaceAll(strings.ReplaceAll(k, ".N.", ".0."), ".", "_"))
	}
	return out
}

// EnvName returns the environment variable that sets a key.
func EnvName(key string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// IsKey reports whether key (dotted, list items by index, free map entries
// by name) is a configuration key.
func IsKey(key string) bool {
	_, ok := typeAt(key)
	return ok
}
