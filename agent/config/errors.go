package config

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// FieldError is one problem with one configuration field. Decode, Load,
// Validate and DiffReload return these, several joined with errors.Join.
type FieldError struct {
	// Source is where the value came from: "path/file.hcl:12:3",
	// "env FARMHAND_PORT", "flag -port", or "" for a default or missing value
	// outside any block a file declared.
	Source string
	// Field is the field path, e.g. "gossip.reap_time" or
	// `render["workers"].destination`; empty for a syntax error.
	Field string
	// Problem says what is wrong and what to do.
	Problem string
	// Err is the underlying cause, if any.
	Err error
}

// Error is "source: field: problem: cause", leaving out empty parts.
func (e *FieldError) Error() string {
	parts := make([]string, 0, 4)
	for _, s := range []string{e.Source, e.Field, e.Problem} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	if e.Err != nil {
		parts = append(parts, e.Err.Error())
	}
	return strings.Join(parts, ": ")
}

// Unwrap returns the cause.
func (e *FieldError) Unwrap() error { return e.Err }

// rangeSource formats an HCL range as "file:line:col".
func rangeSource(r hcl.Range) string {
	return fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
}

// setOrigin records that source set the field at path.
func (c *Config) setOrigin(path, source string) {
	if c.origins == nil {
		c.origins = map[string]string{}
	}
	c.origins[path] = source
}

// Source says where the field at path (e.g. "gossip.port") got its value:
// "file.hcl:12:3", "env FARMHAND_PORT", "flag -port", or "" for a default.
// For a field left at its default inside a block a file declared, it names
// the block.
func (c *Config) Source(path string) string {
	for p := path; p != ""; p = parentPath(p) {
		if s, ok := c.origins[p]; ok {
			return s
		}
	}
	return ""
}

// isSet reports whether a source (not the defaults) set the field at path.
func (c *Config) isSet(path string) bool {
	_, ok := c.origins[path]
	return ok
}

// parentPath strips the last element of a field path:
// `render["a"].mode` -> `render["a"]` -> "render"; "gossip.keys[1]" ->
// "gossip.keys". Labels never contain '.' or '[' (the decoder refuses them).
func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

// IsSet reports whether a source (a file, the environment or a flag) set
// the field at path, e.g. "gossip.reap_time". Callers use it to let a
// preset's own default stand when the user did not choose a value.
func (c *Config) IsSet(path string) bool { return c.isSet(path) }
