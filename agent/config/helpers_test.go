package config

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// minimalHCL is the smallest valid configuration.
const minimalHCL = `
cluster = "farm"
gossip {
  insecure = true
}
registry {
  bucket = "b"
}
`

// testKey returns a base64 key of n bytes, each byte = seed.
func testKey(n int, seed byte) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed
	}
	return base64.StdEncoding.EncodeToString(b)
}

// writeFile writes content to dir/name and returns the path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// wantErr fails unless err is non-nil and its message contains every want.
func wantErr(t *testing.T, err error, wants ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", wants)
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not contain %q:\n%v", w, err)
		}
	}
}

// noEnv is a getenv that finds nothing.
func noEnv(string) string { return "" }

// envMap is a getenv backed by a map.
func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// mustDecode decodes src as test.hcl or fails.
func mustDecode(t *testing.T, src string) *Config {
	t.Helper()
	return decodeAs(t, "test.hcl", src)
}

// decodeAs decodes src as filename or fails.
func decodeAs(t *testing.T, filename, src string) *Config {
	t.Helper()
	c, err := Decode(filename, []byte(src))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return c
}
