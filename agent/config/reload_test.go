package config

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestDiffReloadApplicable(t *testing.T) {
	old := mustDecode(t, minimalHCL+"role = \"a\"\nlog_level = \"info\"\n")
	next := mustDecode(t, minimalHCL+"role = \"b\"\nlog_level = \"debug\"\nrender \"r\" {\n  template = \"json\"\n}\n")
	ch, err := DiffReload(old, next)
	if err != nil {
		t.Fatal(err)
	}
	if !ch.Tags || !ch.LogLevel || ch.Keys {
		t.Errorf("changes: %+v", ch)
	}
	if want := []string{"log_level", `render["r"]`, "role"}; !slices.Equal(ch.Fields, want) {
		t.Errorf("fields %q, want %q", ch.Fields, want)
	}

	same, err := DiffReload(old, old.clone())
	if err != nil || same.Tags || same.LogLevel || same.Keys || len(same.Fields) != 0 {
		t.Errorf("no change reported as %+v, %v", same, err)
	}
}

func TestDiffReloadTagsAndKeys(t *testing.T) {
	k1, k2 := testKey(32, 1), testKey(32, 2)
	old := mustDecode(t, "tags = { a = \"1\" }\ngossip {\n  keys = [\""+k1+"\"]\n}\n")
	next := mustDecode(t, "tags = { a = \"2\" }\ngossip {\n  keys = [\""+k2+"\", \""+k1+"\"]\n}\n")
	ch, err := DiffReload(old, next)
	if err != nil {
		t.Fatal(err)
	}
	if !ch.Tags || !ch.Keys || ch.LogLevel {
		t.Errorf("changes: %+v", ch)
	}
}

func TestDiffReloadRefusesRestartFields(t *testing.T) {
	old := mustDecode(t, minimalHCL)
	next := decodeAs(t, "new.hcl", `cluster = "farm2"
socket  = "/tmp/other.sock"
gossip {
  insecure = true
  port     = 7000
}
registry {
  bucket      = "b"
  signing_key = "`+testKey(32, 9)+`"
}
role = "changed"
`)
	ch, err := DiffReload(old, next)
	wantErr(t, err,
		`new.hcl:1:1: cluster: changed from "farm" to "farm2"; this needs a restart`,
		"new.hcl:2:1: socket:",
		"new.hcl:5:3: gossip.port: changed from 7946 to 7000",
		"new.hcl:9:3: registry.signing_key: changed; this needs a restart")
	if strings.Contains(err.Error(), testKey(32, 9)) {
		t.Errorf("the error prints a secret: %v", err)
	}
	if ch.Tags || len(ch.Fields) != 0 {
		t.Errorf("a refused reload must report no changes: %+v", ch)
	}
}

func TestDiffReloadRefusesEncryptionToggle(t *testing.T) {
	old := mustDecode(t, minimalHCL)
	next := mustDecode(t, minimalHCL)
	next.Gossip.Keys = [][]byte{make([]byte, 32)}
	_, err := DiffReload(old, next)
	wantErr(t, err, "gossip.keys: turning gossip encryption on or off needs a restart")
	_, err = DiffReload(next, old)
	wantErr(t, err, "gossip.keys: turning gossip encryption on or off")
}

// Every attribute of Config has a reload rule, so a field added later is
// classified (applied live or refused) rather than silently ignored.
func TestEveryFieldHasAReloadRule(t *testing.T) {
	var walk func(t reflect.Type, path string)
	n := 0
	walk = func(typ reflect.Type, path string) {
		for _, f := range fieldsOf(typ) {
			p := joinPath(path, f.name)
			switch f.kind {
			case kindAttr:
				n++
				if _, ok := reloadRuleOf(p); !ok {
					t.Errorf("%s has no reload rule: add it to reloadRules (live, or restart with why)", p)
				}
			case kindBlock:
				walk(typ.Field(f.index).Type, p)
			case kindBlocks:
				walk(typ.Field(f.index).Type.Elem(), labelPath(p, "x"))
			}
		}
	}
	walk(reflect.TypeOf(Config{}), "")
	if n < 50 {
		t.Fatalf("walked %d attributes; the schema walk is broken", n)
	}
}

// Each class of field: the live ones are reported for the agent to apply,
// the fixed ones refuse the whole reload, naming the field and saying that
// a restart is needed.
func TestDiffReloadClasses(t *testing.T) {
	base := minimalHCL + "role = \"a\"\n"
	for _, tc := range []struct {
		name, hcl string
		field     string
		want      func(ReloadChanges) bool
	}{
		{"metrics_addr", `metrics_addr = "127.0.0.1:9947"`, "metrics_addr", func(c ReloadChanges) bool { return c.Metrics }},
		{"leave_timeout", `leave_timeout = "9s"`, "leave_timeout", func(c ReloadChanges) bool { return !c.Metrics && !c.Tags }},
		{"coordinator.dry_run", "coordinator {\n  dry_run = true\n}", "coordinator.dry_run", func(c ReloadChanges) bool { return c.Coordinator }},
		{"a coordinator group", "coordinator {\n  group \"w\" {\n    max = 3\n  }\n}", `coordinator.group["w"]`, func(c ReloadChanges) bool { return c.Coordinator }},
		{"ec2", "ec2 {\n  endpoint = \"http://127.0.0.1:1\"\n}", "ec2.endpoint", func(c ReloadChanges) bool { return c.Coordinator }},
		{"a render block", "render \"w\" {\n  template = \"json\"\n}", `render["w"]`, func(c ReloadChanges) bool { return c.Render }},
	} {
		t.Run("live "+tc.name, func(t *testing.T) {
			ch, err := DiffReload(mustDecode(t, base), mustDecode(t, base+tc.hcl+"\n"))
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !slices.Contains(ch.Fields, tc.field) || !tc.want(ch) {
				t.Errorf("changes %+v, want %s applied live", ch, tc.field)
			}
		})
	}
	for _, tc := range []struct{ name, hcl, field string }{
		{"log_json", "log_json = true", "log_json: changed from false to true; this needs a restart of the agent (the log format"},
		{"reap_time", "gossip.reap_time = \"2h\"", "gossip.reap_time: changed from"},
		{"reconnect_interval", "gossip.reconnect_interval = \"9s\"", "gossip.reconnect_interval: changed from"},
		{"reconnect_timeout", "gossip.reconnect_timeout = \"2h\"", "gossip.reconnect_timeout: changed from"},
		{"join_fanout", "gossip.join_fanout = 5", "gossip.join_fanout: changed from 3 to 5; this needs a restart"},
	} {
		t.Run("restart "+tc.name, func(t *testing.T) {
			// With a live change beside it: a refused reload applies nothing.
			next := strings.Replace(base, `role = "a"`, `role = "b"`, 1)
			if attr, ok := strings.CutPrefix(tc.hcl, "gossip."); ok {
				next = strings.Replace(next, "insecure = true", "insecure = true\n  "+attr, 1)
			} else {
				next += tc.hcl + "\n"
			}
			ch, err := DiffReload(mustDecode(t, base), mustDecode(t, next))
			wantErr(t, err, tc.field, "the running configuration was kept")
			if ch.Tags || len(ch.Fields) != 0 {
				t.Errorf("a refused reload reports changes %+v", ch)
			}
		})
	}
}
