package config

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestSecretsAreNeverPrinted(t *testing.T) {
	gk, sk := testKey(32, 0xA5), testKey(24, 0x5A)
	c := mustDecode(t, `
cluster = "farm"
gossip {
  keys = ["`+gk+`"]
}
registry {
  bucket      = "b"
  signing_key = "`+sk+`"
}
`)
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	gossipJS, _ := json.Marshal(c.Gossip)
	registryJS, _ := json.Marshal(c.Registry)
	red, _ := json.Marshal(c.Redacted())
	outputs := map[string]string{
		"String":        c.String(),
		"%v":            fmt.Sprintf("%v", c),
		"%+v":           fmt.Sprintf("%+v", c),
		"%#v":           fmt.Sprintf("%#v", c),
		"%v gossip":     fmt.Sprintf("%v", c.Gossip),
		"%+v gossip":    fmt.Sprintf("%+v", c.Gossip),
		"%#v gossip":    fmt.Sprintf("%#v", c.Gossip),
		"%+v registry":  fmt.Sprintf("%+v", c.Registry),
		"%#v registry":  fmt.Sprintf("%#v", c.Registry),
		"json":          string(js),
		"json gossip":   string(gossipJS),
		"json registry": string(registryJS),
		"Redacted":      string(red),
	}
	// The raw bytes as fmt would print them, and their base64 forms.
	leaks := []string{gk, sk, gk[:12], sk[:12], "165 165 165", "90 90 90"}
	for name, out := range outputs {
		for _, leak := range leaks {
			if strings.Contains(out, leak) {
				t.Errorf("%s prints a secret (%q):\n%s", name, leak, out)
			}
		}
		if !strings.Contains(out, redacted) {
			t.Errorf("%s does not show %q:\n%s", name, redacted, out)
		}
	}
	m := c.Redacted()
	if m["registry"].(map[string]any)["signing_key"] != redacted || m["cluster"] != "farm" {
		t.Errorf("Redacted: %v", m)
	}
	if keys := m["gossip"].(map[string]any)["keys"].([]string); len(keys) != 1 {
		t.Errorf("Redacted keys: %v", keys)
	}
}

// TestStringRoundTrip checks that String is valid HCL that decodes back to
// the same values (for a config without secrets).
func TestStringRoundTrip(t *testing.T) {
	c, err := DecodeFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode("string.hcl", []byte(c.String()))
	if err != nil {
		t.Fatalf("String output does not decode: %v\n%s", err, c.String())
	}
	if !reflect.DeepEqual(c.Redacted(), back.Redacted()) {
		t.Errorf("round trip changed values:\n%s\n---\n%s", c, back)
	}
	if !strings.Contains(c.String(), `group "worker" {`) || !strings.Contains(c.String(), `reap_time          = "24h"`) {
		t.Errorf("unexpected rendering:\n%s", c)
	}
}

func TestFormatDuration(t *testing.T) {
	for in, want := range map[string]string{"0s": "0s", "5m": "5m", "24h": "24h", "1h30m": "1h30m", "90s": "1m30s", "1.5s": "1.5s", "1h0m5s": "1h0m5s"} {
		c := mustDecode(t, "leave_timeout = \""+in+"\"\n")
		if got := formatDuration(c.LeaveTimeout); got != want {
			t.Errorf("formatDuration(%s) = %q, want %q", in, got, want)
		}
	}
}
