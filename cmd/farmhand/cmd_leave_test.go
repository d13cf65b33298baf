package main

import (
	"strings"
	"testing"
)

func TestLeave(t *testing.T) {
	b, sock := apiAgent(t)
	r := apiCLI(t, nil, "leave", "-socket", sock)
	if r.code != 0 || !strings.Contains(r.stdout, "i-0aa left cluster prod gracefully") {
		t.Errorf("exit %d, stdout %q, stderr %q; want 0 saying the node left", r.code, r.stdout, r.stderr)
	}
	if b.Leaves() != 1 {
		t.Errorf("agent saw %d leaves, want 1", b.Leaves())
	}
	if r := apiCLI(t, nil, "leave", "-socket", sock, "now"); r.code != 2 {
		t.Errorf("leave with an argument: exit %d, want 2", r.code)
	}
}
