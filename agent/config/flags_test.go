package config

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// parse registers Flags on a fresh FlagSet and parses args.
func parse(t *testing.T, args ...string) (*Flags, error) {
	t.Helper()
	var f Flags
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f.Register(fs)
	return &f, fs.Parse(args)
}

func TestFlagsSetEveryField(t *testing.T) {
	args := []string{
		"-config", "a.hcl", "-config", "b.hcl", "-config-dir", "conf.d",
		"-cluster", "farm", "-data-dir", "/d", "-socket", "/s.sock", "-log-level", "warn", "-log-json",
		"-role", "db", "-metrics-addr", "[::1]:9000", "-imds-endpoint", "http://127.0.0.1:1",
		"-bind", "127.0.0.3", "-port", "7002", "-bucket", "bkt", "-s3-endpoint", "http://127.0.0.1:2",
		"-retry-join", "10.0.0.5, 10.0.0.6:7947", "-ui",
	}
	f, err := parse(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(f.ConfigFiles, ",") != "a.hcl,b.hcl" || strings.Join(f.ConfigDirs, ",") != "conf.d" {
		t.Errorf("files %v dirs %v", f.ConfigFiles, f.ConfigDirs)
	}
	if len(f.Values) != len(flagFields) {
		t.Errorf("test sets %d field flags, the table has %d", len(f.Values), len(flagFields))
	}
	c, err := f.decode()
	if err != nil {
		t.Fatal(err)
	}
	got := []any{c.Cluster, c.DataDir, c.Socket, c.LogLevel, c.LogJSON, c.Role, c.MetricsAddr,
		c.Identity.IMDSEndpoint, c.Gossip.BindAddr, c.Gossip.Port, c.Registry.Bucket, c.Registry.Endpoint, strings.Join(c.RetryJoin, " "), c.UI}
	want := []any{"farm", "/d", "/s.sock", "warn", true, "db", "[::1]:9000",
		"http://127.0.0.1:1", "127.0.0.3", 7002, "bkt", "http://127.0.0.1:2", "10.0.0.5 10.0.0.6:7947", true}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("field %d: got %v, want %v", i, got[i], want[i])
		}
	}
	if src := c.Source("registry.bucket"); src != "flag -bucket" {
		t.Errorf("Source = %q", src)
	}
}

func TestFlagsBadValueFailsAtParse(t *testing.T) {
	_, err := parse(t, "-port", "many")
	wantErr(t, err, "-port", `invalid integer "many"`)
	_, err = parse(t, "-log-json=sometimes")
	wantErr(t, err, "-log-json")
}

func TestFlagsValuesErrorsNameTheFlag(t *testing.T) {
	f := &Flags{Values: map[string]string{"port": "x", "nope": "1"}}
	_, err := f.decode()
	wantErr(t, err, `flag -port: gossip.port: invalid integer "x"`, "flag -nope: unknown flag")
}

func TestDevPreset(t *testing.T) {
	f, err := parse(t, "-dev", "-cluster", "dev", "-bucket", "b")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Load(f, noEnv)
	if err != nil {
		t.Fatalf("dev mode needs no gossip key: %v", err)
	}
	if c.Gossip.Profile != "local" || !c.Gossip.Insecure || !strings.HasPrefix(c.DataDir, os.TempDir()+string(filepath.Separator)) {
		t.Errorf("dev: profile %q insecure %v data_dir %q", c.Gossip.Profile, c.Gossip.Insecure, c.DataDir)
	}
	if c.Source("gossip.profile") != "flag -dev" {
		t.Errorf("Source = %q", c.Source("gossip.profile"))
	}
	// Files, env and flags override the preset.
	dir := t.TempDir()
	f.ConfigFiles = []string{writeFile(t, dir, "f.hcl", "gossip {\n  profile = \"lan\"\n}\n")}
	c, err = Load(f, envMap(map[string]string{"FARMHAND_DATA_DIR": dir}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Gossip.Profile != "lan" || c.DataDir != dir || !c.Gossip.Insecure {
		t.Errorf("override of dev: profile %q data_dir %q insecure %v", c.Gossip.Profile, c.DataDir, c.Gossip.Insecure)
	}
}
