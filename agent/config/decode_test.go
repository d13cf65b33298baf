package config

import (
	"errors"
	"os"
	"testing"
	"time"
)

func TestDecodeTypedValues(t *testing.T) {
	c := mustDecode(t, `
cluster       = "farm"
socket_mode   = "0600"
leave_timeout = "1m30s"
tags          = { rack = "a", n = 1 }
gossip {
  port = "7000"
  keys = ["`+testKey(16, 1)+`", "`+testKey(32, 2)+`"]
}
registry {
  signing_key = "`+testKey(20, 3)+`"
}
coordinator {
  freeze_threshold = 0.5
  group "db" {
    max     = 2
    subnets = ["s1", "s2"]
  }
}
render "r" {
  mode = "0600"
}
`)
	if c.SocketMode != 0o600 || c.LeaveTimeout != 90*time.Second || c.Gossip.Port != 7000 {
		t.Errorf("mode %o, leave %s, port %d", c.SocketMode, c.LeaveTimeout, c.Gossip.Port)
	}
	if c.Tags["rack"] != "a" || c.Tags["n"] != "1" {
		t.Errorf("tags %v", c.Tags)
	}
	if len(c.Gossip.Keys) != 2 || len(c.Gossip.Keys[0]) != 16 || c.Gossip.Keys[1][0] != 2 || len(c.Registry.SigningKey) != 20 {
		t.Errorf("keys not decoded: %d keys", len(c.Gossip.Keys))
	}
	g := c.Coordinator.Groups
	if len(g) != 1 || g[0].Name != "db" || g[0].Role != "db" || g[0].Max != 2 || len(g[0].Subnets) != 2 {
		t.Errorf("group: %+v", g)
	}
	if c.Coordinator.FreezeThreshold != 0.5 || c.Coordinator.Interval != 5*time.Second {
		t.Errorf("coordinator: %+v", c.Coordinator)
	}
	r := c.Render
	if len(r) != 1 || r[0].Mode != 0o600 || r[0].WaitMax != 10*time.Second || len(r[0].Status) != 0 {
		t.Errorf("render defaults not applied under the label: %+v", r)
	}
	// Unset fields keep their defaults and are not marked set.
	if c.DataDir != Default().DataDir || c.isSet("data_dir") || !c.isSet("gossip.port") {
		t.Errorf("set tracking: data_dir set=%v port set=%v", c.isSet("data_dir"), c.isSet("gossip.port"))
	}
	if got := c.Source("gossip.port"); got != "test.hcl:7:3" {
		t.Errorf("Source(gossip.port) = %q, want test.hcl:7:3", got)
	}
}

func TestDecodeNullLeavesDefault(t *testing.T) {
	c := mustDecode(t, "log_level = null\n")
	if c.LogLevel != "info" || c.isSet("log_level") {
		t.Errorf("null: level %q set=%v", c.LogLevel, c.isSet("log_level"))
	}
}

// TestDecodeErrorsNameFileLineAndField covers each kind of decode error.
func TestDecodeErrorsNameFileLineAndField(t *testing.T) {
	cases := []struct {
		name, src string
		want      []string
	}{
		{"unknown field with suggestion", "log_level = \"info\"\nclustr = \"x\"\n",
			[]string{"f.hcl:2:1", "clustr", `Did you mean "cluster"?`}},
		{"unknown field in block", "gossip {\n  port = 1\n  reap_tme = \"1s\"\n}\n",
			[]string{"f.hcl:3:3", "gossip.reap_tme", `Did you mean "reap_time"?`}},
		{"unknown block", "gosip {\n}\n",
			[]string{"f.hcl:1:1", "gosip", `Did you mean "gossip"?`}},
		{"bad duration", "gossip {\n  reap_time = \"3 days\"\n}\n",
			[]string{"f.hcl:2:15", "gossip.reap_time", `invalid duration "3 days"`}},
		{"duration without unit", "leave_timeout = 30\n",
			[]string{"f.hcl:1:17", "leave_timeout", `invalid duration "30"`}},
		{"bad type", "gossip {\n  port = \"many\"\n}\n",
			[]string{"f.hcl:2:10", "gossip.port", "wrong type", "number is required"}},
		{"bad type list", "render \"r\" {\n  status = \"alive\"\n}\n",
			[]string{"f.hcl:2:12", `render["r"].status`, "wrong type"}},
		{"fractional int", "coordinator {\n  max_replacements = 1.5\n}\n",
			[]string{"f.hcl:2:22", "coordinator.max_replacements"}},
		{"bad mode", "socket_mode = \"rw-rw----\"\n",
			[]string{"f.hcl:1:15", "socket_mode", "octal"}},
		{"mode beyond 0777", "socket_mode = \"4755\"\n",
			[]string{"f.hcl:1:15", "socket_mode", "beyond 0777"}},
		{"bad base64 key", "gossip {\n  keys = [\"not base64!\"]\n}\n",
			[]string{"f.hcl:2:10", "gossip.keys", "base64"}},
		{"variable reference", "cluster = farm\n",
			[]string{"f.hcl:1:11", "cluster", "Variables not allowed"}},
		{"duplicate block", "gossip {\n}\ngossip {\n}\n",
			[]string{"f.hcl:3:1", "gossip", "duplicate gossip block", "f.hcl:1:1"}},
		{"duplicate label", "render \"a\" {\n}\nrender \"a\" {\n}\n",
			[]string{"f.hcl:3:1", `render["a"]`, "duplicate block"}},
		{"bad label", "render \"a.b\" {\n}\n",
			[]string{"f.hcl:1:1", `render["a.b"]`, "invalid block label"}},
		{"missing label", "render {\n}\n",
			[]string{"f.hcl:1:8", "render", "label"}},
		{"syntax error", "cluster = \n",
			[]string{"f.hcl:1:"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode("f.hcl", []byte(tc.src))
			wantErr(t, err, tc.want...)
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Errorf("error is not a *FieldError: %T", err)
			}
		})
	}
}

func TestDecodeReportsAllErrorsAtOnce(t *testing.T) {
	_, err := Decode("f.hcl", []byte("clustr = \"x\"\nleave_timeout = \"x\"\ngossip {\n  port = \"y\"\n}\n"))
	wantErr(t, err, "f.hcl:1:1: clustr", "f.hcl:2:17: leave_timeout", "f.hcl:4:10: gossip.port")
}

func TestDecodeFileMissing(t *testing.T) {
	_, err := DecodeFile("/nonexistent/farmhand.hcl")
	wantErr(t, err, "/nonexistent/farmhand.hcl", "cannot read")
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cause not wrapped: %v", err)
	}
}

func TestDecodeDirLexicalOrder(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "20-b.hcl", "log_level = \"warn\"\nrole = \"b\"\n")
	writeFile(t, dir, "10-a.hcl", "log_level = \"debug\"\nrole = \"a\"\ncluster = \"farm\"\n")
	writeFile(t, dir, "30-c.hcl.disabled", "role = \"ignored\"\n")
	writeFile(t, dir, ".40-hidden.hcl", "role = \"ignored\"\n")
	if err := os.Mkdir(dir+"/50-sub.hcl", 0o700); err != nil {
		t.Fatal(err)
	}
	c, err := DecodeDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.Role != "b" || c.LogLevel != "warn" || c.Cluster != "farm" {
		t.Errorf("role %q level %q cluster %q; want b, warn, farm", c.Role, c.LogLevel, c.Cluster)
	}
	if got, want := c.Source("role"), dir+"/20-b.hcl:2:1"; got != want {
		t.Errorf("Source(role) = %q, want %q", got, want)
	}
}

func TestDecodeDirCollectsErrorsOfAllFiles(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.hcl", "bogus = 1\n")
	writeFile(t, dir, "b.hcl", "leave_timeout = \"x\"\n")
	_, err := DecodeDir(dir)
	wantErr(t, err, dir+"/a.hcl:1:1: bogus", dir+"/b.hcl:1:17: leave_timeout")

	_, err = DecodeDir(dir + "/missing")
	wantErr(t, err, "missing", "cannot read the config directory")
}

func TestDecodeDirEmpty(t *testing.T) {
	c, err := DecodeDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if len(c.origins) != 0 || c.Socket != Default().Socket {
		t.Errorf("empty dir set fields: %v", c.origins)
	}
}
