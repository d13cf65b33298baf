package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/farmhand/farmhand/testbed/testutil"
)

// TestSystemdUnitVerifies runs systemd-analyze verify on the shipped unit,
// with ExecStart pointed at a real farmhand binary. systemd-analyze exits 0
// on some errors (an unknown Type= is only "ignoring"), so any diagnostic
// naming the unit fails the test too.
func TestSystemdUnitVerifies(t *testing.T) {
	sa := testutil.NeedTool(t, "systemd-analyze", "apt-get install systemd")
	unit, err := os.ReadFile("../../dist/systemd/farmhand.service")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(unit), "Type=notify") || !strings.Contains(string(unit), "ExecStart=/usr/local/bin/farmhand agent") {
		t.Fatal("the unit must be Type=notify and start /usr/local/bin/farmhand agent")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "farmhand.service")
	text := strings.ReplaceAll(string(unit), "/usr/local/bin/farmhand", testutil.FarmhandBinary(t))
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(sa, "verify", path).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "farmhand.service") {
			t.Errorf("systemd-analyze: %s", line)
		}
	}
}

// TestIAMPoliciesAreValidJSON checks the shipped policies parse and keep
// their least-privilege shape: no wildcard actions.
func TestIAMPoliciesAreValidJSON(t *testing.T) {
	for _, name := range []string{"agent-policy.json", "coordinator-policy.json"} {
		data, err := os.ReadFile(filepath.Join("../../dist/iam", name))
		if err != nil {
			t.Fatal(err)
		}
		var pol struct {
			Version   string
			Statement []struct {
				Effect   string
				Action   any
				Resource any
			}
		}
		if err := json.Unmarshal(data, &pol); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if pol.Version != "2012-10-17" || len(pol.Statement) == 0 {
			t.Fatalf("%s: version %q, %d statements", name, pol.Version, len(pol.Statement))
		}
		for i, st := range pol.Statement {
			acts, _ := json.Marshal(st.Action)
			if strings.Contains(string(acts), `"*"`) || strings.Contains(string(acts), `:*"`) {
				t.Errorf("%s statement %d: wildcard action %s", name, i, acts)
			}
		}
	}
}
