package config

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// Load builds the agent configuration: defaults, the -dev preset, the
// -config files in order, the -config-dir directories, the FARMHAND_*
// environment (through getenv; nil means os.Getenv), then the field flags;
// later sources win. It then reads gossip.key_file and validates. All
// problems are returned at once. f may be nil. Calling Load again with the
// same arguments re-reads everything (for reload).
func Load(f *Flags, getenv func(string) string) (*Config, error) {
	if f == nil {
		f = &Flags{}
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	c := Default()
	if f.Dev {
		c = c.Merge(devLayer())
	}
	var errs []error
	apply := func(layer *Config, err error) {
		if err != nil {
			errs = append(errs, err)
			return
		}
		c = c.Merge(layer)
	}
	for _, path := range f.ConfigFiles {
		apply(DecodeFile(path))
	}
	for _, dir := range f.ConfigDirs {
		apply(DecodeDir(dir))
	}
	apply(DecodeEnv(getenv))
	apply(f.decode())
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if err := c.loadKeyFile(); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// loadKeyFile reads gossip.key_file into gossip.keys: one base64 key per
// line, blank lines and lines starting with '#' ignored, the first key
// primary.
func (c *Config) loadKeyFile() error {
	g := &c.Gossip
	if g.KeyFile == "" {
		return nil
	}
	const field = "gossip.key_file"
	if len(g.Keys) > 0 {
		return &FieldError{Source: c.Source(field), Field: field,
			Problem: fmt.Sprintf("gossip.keys is also set (at %s); set one of them", orDefault(c.Source("gossip.keys")))}
	}
	data, err := os.ReadFile(g.KeyFile)
	if err != nil {
		return &FieldError{Source: c.Source(field), Field: field, Problem: "cannot read the key file", Err: err}
	}
	var keys [][]byte
	var errs []error
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		src := fmt.Sprintf("%s:%d", g.KeyFile, i+1)
		k, err := parseKey(line)
		if err == nil {
			err = checkGossipKey(k)
		}
		if err != nil {
			errs = append(errs, &FieldError{Source: src, Field: field, Problem: err.Error()})
			continue
		}
		keys = append(keys, k)
	}
	if len(errs) == 0 && len(keys) == 0 {
		errs = append(errs, &FieldError{Source: g.KeyFile, Field: field,
			Problem: `the key file holds no key; write one base64 key per line (make one with "farmhand keygen")`})
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	g.Keys = keys
	c.setOrigin("gossip.keys", g.KeyFile)
	return nil
}

// orDefault names an empty source.
func orDefault(source string) string {
	if source == "" {
		return "the defaults"
	}
	return source
}
