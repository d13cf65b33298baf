package main

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestKeygen(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 2; i++ {
		r := apiCLI(t, nil, "keygen")
		if r.code != 0 {
			t.Fatalf("exit %d, stderr %s", r.code, r.stderr)
		}
		key := strings.TrimSuffix(r.stdout, "\n")
		raw, err := base64.StdEncoding.DecodeString(key)
		if err != nil || len(raw) != 32 {
			t.Fatalf("key %q: %d bytes, %v; want 32 bytes of base64", key, len(raw), err)
		}
		seen[key] = true
	}
	if len(seen) != 2 {
		t.Error("two keygen runs printed the same key")
	}
	if r := apiCLI(t, nil, "keygen", "extra"); r.code != 2 {
		t.Errorf("keygen with an argument: exit %d, want 2", r.code)
	}
}
