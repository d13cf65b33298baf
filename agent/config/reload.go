package config

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// ReloadChanges says what a reload changes that the agent must apply.
type ReloadChanges struct {
	// Tags is true when tags or role changed: update the node meta.
	Tags bool
	// LogLevel is true when log_level changed.
	LogLevel bool
	// Keys is true when the gossip keys changed: install the new ones, make
	// the first primary, remove the rest.
	Keys bool
	// Fields lists every changed field path, sorted; the agent may apply
	// the ones not covered above (render, coordinator) or log them.
	Fields []string
}

// restartFields are the fields (and blocks) a running agent cannot change.
var restartFields = []string{
	"cluster", "data_dir", "socket", "socket_mode", "socket_group",
	"identity", "gossip.profile", "gossip.bind_addr", "gossip.port", "registry",
}

// DiffReload compares the running configuration with a newly loaded one.
// It refuses, naming every such field, changes that need a restart:
// cluster, data_dir, the socket, identity, the gossip profile, address and
// port, the registry, and turning gossip encryption on or off. Secrets are
// never printed.
func DiffReload(old, new *Config) (ReloadChanges, error) {
	var ch ReloadChanges
	diffStruct(reflect.ValueOf(old).Elem(), reflect.ValueOf(new).Elem(), "", &ch.Fields)
	slices.Sort(ch.Fields)
	var errs []error
	for _, f := range ch.Fields {
		switch f {
		case "tags", "role":
			ch.Tags = true
		case "log_level":
			ch.LogLevel = true
		case "gossip.keys":
			ch.Keys = true
			if (len(old.Gossip.Keys) == 0) != (len(new.Gossip.Keys) == 0) {
				errs = append(errs, &FieldError{Source: new.Source(f), Field: f,
					Problem: "turning gossip encryption on or off needs a restart of the agent; the running configuration was kept"})
			}
		}
		if needsRestart(f) {
			errs = append(errs, &FieldError{Source: new.Source(f), Field: f,
				Problem: "changed" + describeChange(old, new, f) + "; this needs a restart of the agent, the running configuration was kept"})
		}
	}
	if len(errs) > 0 {
		return ReloadChanges{}, errors.Join(errs...)
	}
	return ch, nil
}

// needsRestart reports whether the field at path is in restartFields or
// inside one of its blocks.
func needsRestart(path string) bool {
	for _, r := range restartFields {
		if path == r || strings.HasPrefix(path, r+".") || strings.HasPrefix(path, r+"[") {
			return true
		}
	}
	return false
}

// describeChange is " from X to Y" for a plain field, "" for a secret or
// a field inside a labelled block.
func describeChange(old, new *Config, path string) string {
	if strings.Contains(path, "[") {
		return ""
	}
	o := fieldByPath(reflect.ValueOf(old).Elem(), path)
	n := fieldByPath(reflect.ValueOf(new).Elem(), path)
	if o.Type() == keyType || o.Type() == keysType {
		return ""
	}
	return fmt.Sprintf(" from %s to %s", formatPlain(plain(o)), formatPlain(plain(n)))
}

// diffStruct appends to out the path of every field that differs between
// a and b (labelled blocks matched by label).
func diffStruct(a, b reflect.Value, path string, out *[]string) {
	for _, f := range fieldsOf(a.Type()) {
		af, bf, p := a.Field(f.index), b.Field(f.index), joinPath(path, f.name)
		switch f.kind {
		case kindAttr:
			if !sameValue(af, bf) {
				*out = append(*out, p)
			}
		case kindBlock:
			diffStruct(af, bf, p, out)
		case kindBlocks:
			for i := range af.Len() {
				label := labelOf(af.Index(i))
				if j := indexOfLabel(bf, label); j < 0 {
					*out = append(*out, labelPath(p, label))
				} else {
					diffStruct(af.Index(i), bf.Index(j), labelPath(p, label), out)
				}
			}
			for i := range bf.Len() {
				if label := labelOf(bf.Index(i)); indexOfLabel(af, label) < 0 {
					*out = append(*out, labelPath(p, label))
				}
			}
		}
	}
}

// sameValue compares two field values, treating nil and empty slices and
// maps as equal.
func sameValue(a, b reflect.Value) bool {
	if k := a.Kind(); (k == reflect.Slice || k == reflect.Map) && a.Len() == 0 && b.Len() == 0 {
		return true
	}
	return reflect.DeepEqual(a.Interface(), b.Interface())
}
