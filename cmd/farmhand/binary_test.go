package main

import (
	"debug/elf"
	"regexp"
	"slices"
	"testing"

	"github.com/farmhand/farmhand/testbed/testutil"
)

// TestBinaryLinksOnlyTheAWSOperationsItCalls guards the binary's size, and
// with it the agent's resident memory (its text pages are most of the RSS).
// Holding *ec2.Client in an interface value once linked all ~700 EC2
// operations: a 76 MB binary instead of 38 MB. The coordinator reaches EC2
// through coordinator.EC2Calls, so exactly its four operations are linked.
func TestBinaryLinksOnlyTheAWSOperationsItCalls(t *testing.T) {
	f, syms := openBinary(t)
	op := regexp.MustCompile(`^github\.com/aws/aws-sdk-go-v2/service/ec2\.\(\*Client\)\.([A-Z]\w*)$`)
	var linked []string
	for _, s := range syms {
		if m := op.FindStringSubmatch(s.Name); m != nil {
			linked = append(linked, m[1])
		}
	}
	slices.Sort(linked)
	want := []string{"DescribeInstanceStatus", "DescribeInstances", "RunInstances", "TerminateInstances"}
	if !slices.Equal(linked, want) {
		t.Errorf("EC2 operations linked into farmhand: %d %v, want %v; keep *ec2.Client out of interface values (use coordinator.EC2Calls)", len(linked), truncate(linked, 10), want)
	}
	for _, s := range f.Sections {
		if s.Name == ".interp" {
			t.Errorf("farmhand is dynamically linked (has .interp): build it with CGO_ENABLED=0, as the Makefile does")
		}
	}
}

// openBinary opens the farmhand binary the tests run and reads its symbol
// table; the file is closed when the test ends.
func openBinary(t *testing.T) (*elf.File, []elf.Symbol) {
	t.Helper()
	f, err := elf.Open(testutil.FarmhandBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	syms, err := f.Symbols()
	if err != nil {
		t.Fatalf("reading the symbol table (is the binary stripped?): %v", err)
	}
	return f, syms
}

// truncate returns at most n of s.
func truncate(s []string, n int) []string { return s[:min(n, len(s))] }
