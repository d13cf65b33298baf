package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/farmhand/farmhand/membership"
	"github.com/farmhand/farmhand/testbed/testutil"
)

// TestMembersWatch runs members -watch against a fake agent: it prints the
// view, then one JSON line per change as the view moves, and exits 0 when
// interrupted.
func TestMembersWatch(t *testing.T) {
	b, sock := apiAgent(t)
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb testutil.Buffer
	done := make(chan int, 1)
	go func() {
		done <- apiCLIWith(ctx, &out, &errb, nil, "members", "-socket", sock, "-watch", "-role", "worker")
	}()
	testutil.Run(t, 5*time.Second, func(r *testutil.R) {
		if !strings.Contains(out.String(), "i-0dd") || b.Waiting() == 0 {
			r.Fatalf("no view printed, or no blocking query waiting yet: %q", out.String())
		}
	})
	view := out.String()
	if !strings.HasPrefix(view, "NAME") || strings.Contains(view, "i-0aa") {
		t.Fatalf("the first output is not the worker table:\n%s", view)
	}
	b.SetMembers(
		apiMember("i-0aa", "10.0.0.1", membership.StatusAlive, "role=master", "az=eu-west-1a"),
		apiMember("i-0bb", "10.0.0.2", membership.StatusAlive, "role=worker", "az=eu-west-1a", "rack=r2", "gpu=no"),
		apiMember("i-0cc", "10.0.0.3", membership.StatusDead, "role=worker", "az=eu-west-1b"),
		apiMember("i-0dd", "10.0.0.4", membership.StatusDead, "role=worker", "az=eu-west-1b"),
		apiMember("i-0ee", "10.0.0.5", membership.StatusAlive, "role=worker", "az=eu-west-1c"),
	)
	var lines []string
	testutil.Run(t, 5*time.Second, func(r *testutil.R) {
		lines = strings.Split(strings.TrimSpace(strings.TrimPrefix(out.String(), view)), "\n")
		if len(lines) < 2 {
			r.Fatalf("want 2 change lines, got %q", lines)
		}
	})
	want := []struct {
		typ, name, status, prev string
	}{
		{"status", "i-0dd", "dead", "alive"},
		{"join", "i-0ee", "alive", ""},
	}
	for i, w := range want {
		var ev membership.Event
		if err := json.Unmarshal([]byte(lines[i]), &ev); err != nil {
			t.Fatalf("line %q is not JSON: %v", lines[i], err)
		}
		if string(ev.Type) != w.typ || ev.Member.Name != w.name || string(ev.Member.Status) != w.status ||
			string(ev.Prev) != w.prev || ev.Index != b.Index() {
			t.Errorf("line %d = %+v, want %+v at index %d", i, ev, w, b.Index())
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 || len(lines) != 2 {
			t.Errorf("exit %d after interrupt, %d lines (stderr %q); want 0 and 2", code, len(lines), errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("members -watch did not exit when interrupted")
	}
}

func TestViewChanges(t *testing.T) {
	a := apiMember("a", "10.0.0.1", membership.StatusAlive)
	b := apiMember("b", "10.0.0.2", membership.StatusAlive)
	b2 := apiMember("b", "10.0.0.9", membership.StatusAlive)
	c := apiMember("c", "10.0.0.3", membership.StatusAlive)
	evs := viewChanges([]membership.Member{a, b}, []membership.Member{b2, c})
	var got []string
	for _, ev := range evs {
		got = append(got, string(ev.Type)+":"+ev.Member.Name)
	}
	if strings.Join(got, " ") != "reap:a update:b join:c" {
		t.Errorf("changes = %v, want reap:a update:b join:c", got)
	}
	if len(viewChanges([]membership.Member{a}, []membership.Member{a})) != 0 {
		t.Error("an unchanged view gave changes")
	}
}
