package config

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// The effective config is written as YAML in the order of defaults.yaml
// (the struct's field order), maps sorted by name, so that `config show`,
// a run directory's config.yaml and Load agree: loading the output gives
// the same Config.

// MarshalYAML makes yaml.Marshal(cfg) write the effective config with the
// keys Load reads.
func (c Config) MarshalYAML() (any, error) {
	return c.node(false), nil
}

// YAML returns the effective config as YAML; with sources, each value
// carries a comment naming the layer it came from.
func (c *Config) YAML(sources bool) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(c.node(sources)); err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	return buf.Bytes(), nil
}

// WriteFile writes the effective config as YAML to path (a run
// directory's config.yaml), through a temporary file renamed into place
// so that a crash never leaves half a file.
func (c *Config) WriteFile(path string) error {
	data, err := c.YAML(false)
	if err != nil {
		return err
	}
	data = append([]byte("# Effective graftrain configuration (graftrain config show).\n"), data...)
	tmp, err := os.CreateTemp(filepath.Dir(path), ".config-*.yaml")
	if err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write config %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write config %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write config %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write config %s: %w", path, err)
	}
	return nil
}

func (c *Config) node(sources bool) *yaml.Node {
	e := encoder{c: c, sources: sources}
	return e.value("", reflect.ValueOf(*c))
}

type encoder struct {
	c       *Config
	sources bool
}

func scalar(tag, value string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value}
}

func (e *encoder) comment(n *yaml.Node, path string) {
	if e.sources && path != "" {
		n.LineComment = e.c.Source(path).String()
	}
}

func (e *encoder) value(path string, v reflect.Value) *yaml.Node {
	switch v.Kind() {
	case reflect.Struct:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for _, f := range fields(v.Type()) {
			k := keyOf(f)
			p := joinPath(path, k)
			child := e.value(p, v.FieldByIndex(f.Index))
			n.Content = append(n.Content, scalar("!!str", k), child)
		}
		return n
	case reflect.Map:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		if v.Len() == 0 {
			n.Style = yaml.FlowStyle
			e.comment(n, path)
			return n
		}
		keys := slices.Sorted(maps.Keys(mapKeys(v)))
		for _, k := range keys {
			p := joinPath(path, k)
			child := e.value(p, v.MapIndex(reflect.ValueOf(k)))
			n.Content = append(n.Content, scalar("!!str", k), child)
		}
		return n
	case reflect.Slice:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		if v.Type().Elem().Kind() == reflect.Struct {
			for i := range v.Len() {
				n.Content = append(n.Content, e.value(joinPath(path, strconv.Itoa(i)), v.Index(i)))
			}
			if v.Len() == 0 {
				n.Style = yaml.FlowStyle
				e.comment(n, path)
			}
			return n
		}
		n.Style = yaml.FlowStyle
		for i := range v.Len() {
			n.Content = append(n.Content, e.value("", v.Index(i)))
		}
		e.comment(n, path)
		return n
	case reflect.String:
		n := scalar("!!str", v.String())
		e.comment(n, path)
		return n
	case reflect.Bool:
		n := scalar("", strconv.FormatBool(v.Bool()))
		e.comment(n, path)
		return n
	case reflect.Int, reflect.Int64, reflect.Int32:
		n := scalar("", strconv.FormatInt(v.Int(), 10))
		e.comment(n, path)
		return n
	case reflect.Float64, reflect.Float32:
		n := scalar("", strconv.FormatFloat(v.Float(), 'g', -1, 64))
		e.comment(n, path)
		return n
	}
	return scalar("!!null", "null")
}

func mapKeys(v reflect.Value) map[string]struct{} {
	out := make(map[string]struct{}, v.Len())
	for _, k := range v.MapKeys() {
		out[k.String()] = struct{}{}
	}
	return out
}
