package config

import (
	"bytes"
	"fmt"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// Sources are the layers above the embedded defaults.
type Sources struct {
	File  string         // --config path; empty for none
	Sets  []string       // --set key=value, applied last
	Flags *pflag.FlagSet // command flags bound to config keys (annotation "config-key")
	Viper *viper.Viper   // instance to load into; nil makes one
}

// Load layers the sources over the defaults, decodes strictly and validates.
func Load(s Sources) (*Config, error) {
	v := s.Viper
	if v == nil {
		v = viper.New()
	}
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(DefaultsYAML)); err != nil {
		return nil, fmt.Errorf("embedded defaults: %w", err)
	}
	if s.File != "" {
		v.SetConfigFile(s.File)
		if err := v.MergeInConfig(); err != nil {
			return nil, fmt.Errorf("config file %s: %w", s.File, err)
		}
	}
	var c Config
	if err := v.UnmarshalExact(&c); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return &c, nil
}
