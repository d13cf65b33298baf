package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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
	for _, name := range []string{"agent-policy.json", "coordinator-policy.json", "status-policy.json"} {
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

// privilegeChange matches a command that changes user or gains privilege.
var privilegeChange = regexp.MustCompile(`\b(sudo|su|runuser|doas|pkexec|setpriv)\b`)

// TestReloadPathWorksUnderTheShippedUnit: the shipped unit forbids any
// privilege change (NoNewPrivileges=yes, no capabilities), so no document
// or example may give a reload_command that needs one, nor send the reader
// to sudoers; the refresh path units the docs give instead ship in
// dist/systemd, run as their service user and verify.
func TestReloadPathWorksUnderTheShippedUnit(t *testing.T) {
	unit, err := os.ReadFile("../../dist/systemd/farmhand.service")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^NoNewPrivileges=yes$`).Match(unit) || !regexp.MustCompile(`(?m)^CapabilityBoundingSet=$`).Match(unit) {
		t.Fatal("the unit no longer forbids privilege changes: revisit docs/render.md's reload advice and this test")
	}
	docs, _ := filepath.Glob("../../docs/*.md")
	docs = append(docs, "../../README.md", "../../dist/farmhand.hcl")
	reloadLine := regexp.MustCompile(`reload_command\s*=\s*"([^"]*)"`)
	for _, path := range docs {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(data), "\n") {
			if m := reloadLine.FindStringSubmatch(line); m != nil && privilegeChange.MatchString(m[1]) {
				t.Errorf("%s:%d: reload_command %q changes user, which the shipped unit forbids (NoNewPrivileges=yes)", path, i+1, m[1])
			}
			if strings.Contains(line, "sudoers") {
				t.Errorf("%s:%d: sudoers advice cannot work under NoNewPrivileges=yes: %s", path, i+1, strings.TrimSpace(line))
			}
		}
	}
	render, err := os.ReadFile("../../docs/render.md")
	if err != nil {
		t.Fatal(err)
	}
	paths, _ := filepath.Glob("../../dist/systemd/farmhand-*-refresh.path")
	if len(paths) < 2 {
		t.Fatalf("want the HDFS and YARN refresh path units in dist/systemd, found %v", paths)
	}
	sa := testutil.NeedTool(t, "systemd-analyze", "apt-get install systemd")
	dir := t.TempDir()
	for _, p := range paths {
		base := strings.TrimSuffix(filepath.Base(p), ".path")
		if !strings.Contains(string(render), base+".path") {
			t.Errorf("docs/render.md does not mention %s.path", base)
		}
		pathUnit, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(pathUnit), "Unit="+base+".service") || !strings.Contains(string(pathUnit), "PathChanged=") {
			t.Errorf("%s: want PathChanged= lines and Unit=%s.service", p, base)
		}
		svc, err := os.ReadFile(strings.TrimSuffix(p, ".path") + ".service")
		if err != nil {
			t.Fatal(err)
		}
		user := regexp.MustCompile(`(?m)^User=(\S+)$`).FindSubmatch(svc)
		if user == nil || string(user[1]) == "root" || string(user[1]) == "farmhand" {
			t.Errorf("%s.service runs as %q, want the Hadoop service user", base, user)
		}
		// Verify both, with the Hadoop command swapped for one that exists.
		exec1 := regexp.MustCompile(`(?m)^ExecStart=\S+`).ReplaceAll(svc, []byte("ExecStart=/bin/true"))
		if err := os.WriteFile(filepath.Join(dir, base+".service"), exec1, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, base+".path"), pathUnit, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(sa, "verify", filepath.Join(dir, base+".path"), filepath.Join(dir, base+".service")).CombinedOutput()
		if err != nil {
			t.Errorf("systemd-analyze verify %s: %v\n%s", base, err, out)
		}
		for _, line := range strings.Split(string(out), "\n") {
			if strings.Contains(line, base) {
				t.Errorf("systemd-analyze: %s", line)
			}
		}
	}
}
