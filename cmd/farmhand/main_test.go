package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/farmhand/farmhand/testbed/testutil"
)

// runCLI runs the CLI in-process and returns its exit code and output.
func runCLI(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &cmdEnv{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }}
	code = run(context.Background(), e, args)
	return code, out.String(), errb.String()
}

func TestVersionHelpAndUsageErrors(t *testing.T) {
	if code, out, _ := runCLI(t, nil, "version"); code != 0 || !strings.HasPrefix(out, "farmhand ") {
		t.Errorf("version: code %d out %q", code, out)
	}
	if code, out, _ := runCLI(t, nil, "help"); code != 0 || !strings.Contains(out, "members") || !strings.Contains(out, "testbed") {
		t.Errorf("help: code %d, out %q", code, out)
	}
	if code, out, _ := runCLI(t, nil, "help", "wait"); code != 0 || !strings.Contains(out, "-min") {
		t.Errorf("help wait: code %d, out %q", code, out)
	}
	if code, _, errs := runCLI(t, nil, "frobnicate"); code != exitUsage || !strings.Contains(errs, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: code %d, stderr %q", code, errs)
	}
	if code, _, errs := runCLI(t, nil, "version", "-bogus"); code != exitUsage || !strings.Contains(errs, "-bogus") {
		t.Errorf("unknown flag: code %d, stderr %q", code, errs)
	}
	if code, _, _ := runCLI(t, nil); code != exitUsage {
		t.Errorf("no arguments: code %d, want %d", code, exitUsage)
	}
}

// TestAgentConfigErrors checks that a bad config stops the agent before
// anything starts, with exit 2 and a message naming file, line and field.
func TestAgentConfigErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, hcl string
		want      []string
	}{
		{"unknown field", "cluster = \"c\"\nregistry { bucket = \"b\" }\ngossip { insecure = true }\nbogus_field = 1\n", []string{"bad.hcl:4", "bogus_field"}},
		{"bad duration", "cluster = \"c\"\nregistry { bucket = \"b\" }\ngossip {\n  insecure = true\n  reap_time = \"forever\"\n}\n", []string{"bad.hcl:5", "reap_time"}},
		{"missing bucket", "cluster = \"c\"\ngossip { insecure = true }\n", []string{"registry.bucket"}},
		{"no key", "cluster = \"c\"\nregistry { bucket = \"b\" }\n", []string{"gossip", "insecure"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, "bad.hcl")
			if err := os.WriteFile(path, []byte(c.hcl), 0o644); err != nil {
				t.Fatal(err)
			}
			code, _, errs := runCLI(t, nil, "agent", "-config", path, "-socket", filepath.Join(dir, "s.sock"), "-data-dir", dir)
			if code != exitUsage {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitUsage, errs)
			}
			for _, w := range c.want {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errs)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, "s.sock")); err == nil {
				t.Error("a socket was created although the config is invalid")
			}
		})
	}
}

func TestMain(m *testing.M) { testutil.VerifyTestMain(m) }

// `farmhand testbed -h` says where an external S3's credentials come from.
func TestTestbedHelpNamesTheCredentialVariables(t *testing.T) {
	code, _, stderr := runCLI(t, nil, "testbed", "-h")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, v := range []string{"FARMHAND_TESTBED_AWS_ACCESS_KEY_ID", "FARMHAND_TESTBED_AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		if !strings.Contains(stderr, v) {
			t.Errorf("testbed -h does not mention %s:\n%s", v, stderr)
		}
	}
}
