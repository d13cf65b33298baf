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
	// Tags is true when tags or role changed: update the node meta and the
	// registry record.
	Tags bool
	// LogLevel is true when log_level changed.
	LogLevel bool
	// Keys is true when the gossip keys changed: install the new ones, make
	// the first primary, remove the rest.
	Keys bool
	// Metrics is true when metrics_addr changed: serve on the new address.
	Metrics bool
	// Coordinator is true when the coordinator or ec2 block changed: build
	// the coordinator anew (or start or stop it) with the new settings.
	Coordinator bool
	// Render is true when a render block was added, removed or changed:
	// run the new set of blocks.
	Render bool
	// Fields lists every changed field path, sorted. Each is applied live
	// (see ReloadLive); a refused reload reports none.
	Fields []string
}

// ReloadClass is how a running agent takes a change to a field.
type ReloadClass int

const (
	// ReloadLive fields are applied at once by the running agent.
	ReloadLive ReloadClass = iota
	// ReloadRestart fields are fixed while the agent runs: a reload that
	// changes one is refused, naming it, and nothing is applied.
	ReloadRestart
)

// reloadRule is how a reload takes one field (or every field of a block).
type reloadRule struct {
	class ReloadClass
	// why a restart is needed, for the refusal.
	why string
}

var live = reloadRule{class: ReloadLive}

func restart(why string) reloadRule { return reloadRule{class: ReloadRestart, why: why} }

// reloadRules says how a reload takes a change to each attribute of Config;
// an entry for a block covers everything in it. Every field has one
// (TestEveryFieldHasAReloadRule): a new field is classified when added.
var reloadRules = map[string]reloadRule{
	"cluster":       restart("it names the cluster: the memberlist label and the registry prefix"),
	"data_dir":      restart("the agent holds its lock and snapshot there"),
	"socket":        restart("the local API listens on it"),
	"socket_mode":   restart("the socket is made at start"),
	"socket_group":  restart("the socket is made at start"),
	"log_level":     live,
	"log_json":      restart("the log format is fixed when the logger is made"),
	"metrics_addr":  live, // the metrics server moves to the new address
	"ui":            live, // the page reads it at each request
	"leave_timeout": live, // read when the agent stops
	"role":          live,
	"tags":          live,
	"identity":      restart("the identity is read once, at start"),
	"retry_join":    live, // the boot loop reads it each round

	"gossip.profile":            restart("memberlist takes its timers when it starts"),
	"gossip.bind_addr":          restart("memberlist binds at start"),
	"gossip.port":               restart("memberlist binds at start"),
	"gossip.keys":               live, // installed in the keyring (but see DiffReload: not on or off)
	"gossip.key_file":           live, // its keys are gossip.keys
	"gossip.insecure":           live, // only permits an empty keyring, which Validate checks
	"gossip.reap_time":          restart("memberlist takes its timers when it starts"),
	"gossip.reconnect_interval": restart("memberlist takes its timers when it starts"),
	"gossip.reconnect_timeout":  restart("memberlist takes its timers when it starts"),
	"gossip.join_fanout":        restart("memberlist takes its join fan-out when it starts"),

	"registry":    restart("the registry client and its record keys are made at start"),
	"ec2":         live, // the coordinator is built anew with a new EC2 client
	"coordinator": live, // the coordinator is built anew (or started, or stopped)
	"render":      live, // the render blocks are compiled and run anew
	"drain":       live, // the drain watcher reads it at each poll and each notice
	"handler":     live, // each event reads the handler blocks afresh
}

// reloadRuleOf is the rule of the field at path: its own entry, else its
// nearest enclosing block's.
func reloadRuleOf(path string) (reloadRule, bool) {
	for p := path; p != ""; p = parentPath(p) {
		if r, ok := reloadRules[p]; ok {
			return r, true
		}
	}
	return reloadRule{}, false
}

// DiffReload compares the running configuration with a newly loaded one.
// Every changed field is either applied live or, when reloadRules says it
// needs a restart, refused: the error names every such field, one line
// each (file and line, the old and new value unless secret, why), and
// nothing is applied. Turning gossip encryption on or off is refused too.
func DiffReload(old, new *Config) (ReloadChanges, error) {
	var ch ReloadChanges
	diffStruct(reflect.ValueOf(old).Elem(), reflect.ValueOf(new).Elem(), "", &ch.Fields)
	slices.Sort(ch.Fields)
	var errs []error
	for _, f := range ch.Fields {
		rule, ok := reloadRuleOf(f)
		if !ok {
			rule = restart("the agent does not know how to apply it live")
		}
		if rule.class == ReloadRestart {
			errs = append(errs, &FieldError{Source: new.Source(f), Field: f,
				Problem: "changed" + describeChange(old, new, f) + "; this needs a restart of the agent (" + rule.why + "), the running configuration was kept"})
			continue
		}
		switch top, _, _ := strings.Cut(f, "."); {
		case f == "tags" || f == "role":
			ch.Tags = true
		case f == "log_level":
			ch.LogLevel = true
		case f == "metrics_addr":
			ch.Metrics = true
		case f == "gossip.keys":
			ch.Keys = true
			if (len(old.Gossip.Keys) == 0) != (len(new.Gossip.Keys) == 0) {
				errs = append(errs, &FieldError{Source: new.Source(f), Field: f,
					Problem: "turning gossip encryption on or off needs a restart of the agent; the running configuration was kept"})
			}
		case top == "coordinator" || top == "ec2":
			ch.Coordinator = true
		case strings.HasPrefix(f, "render["):
			ch.Render = true
		}
	}
	if len(errs) > 0 {
		return ReloadChanges{}, errors.Join(errs...)
	}
	return ch, nil
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
