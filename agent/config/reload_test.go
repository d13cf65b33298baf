package config

import (
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
