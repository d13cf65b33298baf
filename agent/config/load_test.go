package config

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestLoadOrder checks defaults < files < dir < env < flags, each layer
// overriding one more field.
func TestLoadOrder(t *testing.T) {
	dir := t.TempDir()
	file1 := writeFile(t, dir, "1.hcl", `
cluster   = "farm"
log_level = "debug"
role      = "file1"
data_dir  = "/file1"
socket    = "/file1.sock"
gossip {
  insecure = true
  port     = 1001
}
registry {
  bucket = "b"
}
`)
	file2 := writeFile(t, dir, "2.hcl", "socket = \"/file2.sock\"\n")
	confd := dir + "/conf.d"
	if err := os.Mkdir(confd, 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, confd, "a.hcl", "log_level = \"warn\"\nrole = \"dir\"\ngossip {\n  port = 1002\n}\n")
	env := envMap(map[string]string{"FARMHAND_ROLE": "env", "FARMHAND_PORT": "1003"})
	f := &Flags{ConfigFiles: []string{file1, file2}, ConfigDirs: []string{confd}, Values: map[string]string{"port": "1004"}}

	c, err := Load(f, env)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		field, got, want, source string
	}{
		{"cluster", c.Cluster, "farm", file1 + ":2:1"},
		{"data_dir", c.DataDir, "/file1", file1 + ":5:1"},
		{"socket", c.Socket, "/file2.sock", file2 + ":1:1"},
		{"log_level", c.LogLevel, "warn", confd + "/a.hcl:1:1"},
		{"role", c.Role, "env", "env FARMHAND_ROLE"},
		{"gossip.port", strconv.Itoa(c.Gossip.Port), "1004", "flag -port"},
		{"leave_timeout", c.LeaveTimeout.String(), "5s", ""},
	}
	for _, ch := range checks {
		if ch.got != ch.want || c.Source(ch.field) != ch.source {
			t.Errorf("%s = %q from %q, want %q from %q", ch.field, ch.got, c.Source(ch.field), ch.want, ch.source)
		}
	}
}

func TestLoadCollectsErrorsOfAllSources(t *testing.T) {
	dir := t.TempDir()
	f := &Flags{
		ConfigFiles: []string{writeFile(t, dir, "a.hcl", "bogus = 1\n"), dir + "/missing.hcl"},
		Values:      map[string]string{"port": "x"},
	}
	_, err := Load(f, envMap(map[string]string{"FARMHAND_LOG_JSON": "nah"}))
	wantErr(t, err, dir+"/a.hcl:1:1: bogus", dir+"/missing.hcl", "env FARMHAND_LOG_JSON", "flag -port")
}

func TestLoadValidates(t *testing.T) {
	f := &Flags{ConfigFiles: []string{writeFile(t, t.TempDir(), "a.hcl", "cluster = \"farm\"\n")}}
	_, err := Load(f, noEnv)
	wantErr(t, err, "registry.bucket: required", "gossip.keys: no gossip key")
}

func TestLoadNilArguments(t *testing.T) {
	t.Setenv("FARMHAND_CLUSTER", "from-os-env")
	_, err := Load(nil, nil)
	wantErr(t, err, "registry.bucket: required")
	if strings.Contains(err.Error(), "cluster: required") {
		t.Errorf("nil getenv did not read the process environment: %v", err)
	}
}

// keyFileConfig writes a config using keyFile and returns its Flags.
func keyFileConfig(t *testing.T, dir, keyFile, extra string) *Flags {
	t.Helper()
	src := "cluster = \"farm\"\nregistry {\n  bucket = \"b\"\n}\ngossip {\n  key_file = \"" + keyFile + "\"\n" + extra + "}\n"
	return &Flags{ConfigFiles: []string{writeFile(t, dir, "farmhand.hcl", src)}}
}

func TestLoadKeyFile(t *testing.T) {
	dir := t.TempDir()
	keyFile := writeFile(t, dir, "gossip.key", "# rotated in May\n"+testKey(32, 7)+"\n\n  "+testKey(16, 8)+"  \n")
	c, err := Load(keyFileConfig(t, dir, keyFile, ""), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Gossip.Keys) != 2 || c.Gossip.Keys[0][0] != 7 || len(c.Gossip.Keys[1]) != 16 {
		t.Errorf("keys from file: %d", len(c.Gossip.Keys))
	}
	if c.Source("gossip.keys") != keyFile {
		t.Errorf("Source(gossip.keys) = %q", c.Source("gossip.keys"))
	}
}

func TestLoadKeyFileErrors(t *testing.T) {
	dir := t.TempDir()
	cfgFile := dir + "/farmhand.hcl"
	short := writeFile(t, dir, "short.key", testKey(32, 1)+"\n"+testKey(10, 2)+"\n")
	_, err := Load(keyFileConfig(t, dir, short, ""), noEnv)
	wantErr(t, err, short+":2: gossip.key_file: key decodes to 10 bytes")

	empty := writeFile(t, dir, "empty.key", "# nothing yet\n")
	_, err = Load(keyFileConfig(t, dir, empty, ""), noEnv)
	wantErr(t, err, empty+": gossip.key_file: the key file holds no key")

	_, err = Load(keyFileConfig(t, dir, dir+"/missing.key", ""), noEnv)
	wantErr(t, err, cfgFile+":6:3: gossip.key_file: cannot read the key file")
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cause not wrapped: %v", err)
	}

	_, err = Load(keyFileConfig(t, dir, short, "  keys = [\""+testKey(16, 1)+"\"]\n"), noEnv)
	wantErr(t, err, cfgFile+":6:3: gossip.key_file: gossip.keys is also set (at "+cfgFile+":7:3)")
}
