package config

import "fmt"

// Layer is one of the configuration layers, lowest first.
type Layer int

const (
	LayerDefault Layer = iota // embedded defaults.yaml
	LayerFile                 // --config file
	LayerEnv                  // GRAFTRAIN_* environment
	LayerFlag                 // a command flag bound to a key
	LayerSet                  // --set key=value
)

var layerNames = [...]string{"default", "file", "env", "flag", "set"}

func (l Layer) String() string {
	if int(l) < len(layerNames) {
		return layerNames[l]
	}
	return fmt.Sprintf("layer(%d)", int(l))
}

// Source says where a value came from: the layer and, within it, the file
// and line, the environment variable, the flag or the --set argument.
type Source struct {
	Layer Layer
	Name  string // file path, variable name, flag name or --set argument
	Line  int    // line in the file, 0 when unknown
}

// String renders the source the way errors and `config show --sources`
// print it: "default", "cfg.yaml:12", "env GRAFTRAIN_TRAIN_SEED",
// "flag --max-steps", "--set train.seed=7".
func (s Source) String() string {
	switch s.Layer {
	case LayerDefault:
		if s.Name != "" {
			return "default (" + s.Name + ")"
		}
		return "default"
	case LayerFile:
		if s.Line > 0 {
			return fmt.Sprintf("%s:%d", s.Name, s.Line)
		}
		return s.Name
	case LayerEnv:
		return "env " + s.Name
	case LayerFlag:
		return "flag --" + s.Name
	case LayerSet:
		return "--set " + s.Name
	}
	return s.Layer.String()
}
