package main

import (
	"os/exec"
	"strings"
	"testing"
)

// testInfrastructure reports whether an import path (or a symbol's
// package) is test infrastructure that must never ship in the agent: the
// testbed (its S3, EC2 and IMDS emulators, the farm orchestrator) and
// gofakes3. The testbed CLI is cmd/farmhand-testbed for this reason.
func testInfrastructure(path string) bool {
	return strings.HasPrefix(path, "github.com/farmhand/farmhand/testbed") ||
		strings.HasPrefix(path, "github.com/johannesboyne/gofakes3")
}

// TestAgentDependsOnNoTestInfrastructure is the source-level guard, in the
// spirit of tailscale's deps test for tailscaled: go list -deps of this
// command (tests excluded) names no testbed package and no gofakes3.
func TestAgentDependsOnNoTestInfrastructure(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 50 {
		t.Fatalf("go list -deps listed %d packages: %q; expected the agent's whole dependency tree", len(deps), deps)
	}
	for _, p := range deps {
		if testInfrastructure(p) {
			t.Errorf("cmd/farmhand depends on %s: test infrastructure belongs in cmd/farmhand-testbed, never in the agent every node runs", p)
		}
	}
}

// TestBinaryLinksNoTestInfrastructure checks the binary that ships: no
// symbol of a testbed package or of gofakes3 was linked.
func TestBinaryLinksNoTestInfrastructure(t *testing.T) {
	_, syms := openBinary(t)
	linked := map[string]bool{}
	for _, s := range syms {
		if testInfrastructure(s.Name) {
			slash := strings.LastIndex(s.Name, "/")
			pkg, _, _ := strings.Cut(s.Name[slash+1:], ".")
			linked[s.Name[:slash+1]+pkg] = true
		}
	}
	if len(syms) < 1000 {
		t.Fatalf("only %d symbols: not a Go binary with its symbol table?", len(syms))
	}
	for pkg := range linked {
		t.Errorf("the farmhand binary links %s: keep test infrastructure in cmd/farmhand-testbed", pkg)
	}
}
