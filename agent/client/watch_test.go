package client_test

import (
	"context"
	"testing"
	"time"

	"github.com/farmhand/farmhand/agent/client"
	"github.com/farmhand/farmhand/agent/localapi/localapitest"
	"github.com/farmhand/farmhand/membership"
	"github.com/farmhand/farmhand/testbed/testutil"
)

// TestWatchMembers checks the typed blocking query: index 0 answers at
// once with the index; the next call with it waits for a change.
func TestWatchMembers(t *testing.T) {
	b := fakeAgent()
	c := client.New(localapitest.Serve(t, b))
	ctx := context.Background()
	ms, idx, err := c.WatchMembers(ctx, client.Filter{Role: "worker"}, 0, time.Minute)
	if err != nil || len(ms) != 2 || idx != b.Index() {
		t.Fatalf("WatchMembers(0) = %d members, index %d, %v; want 2, %d", len(ms), idx, err, b.Index())
	}
	type answer struct {
		ms  []membership.Member
		idx uint64
		err error
	}
	got := make(chan answer, 1)
	go func() {
		ms, i, err := c.WatchMembers(ctx, client.Filter{}, idx, time.Minute)
		got <- answer{ms, i, err}
	}()
	testutil.Run(t, 5*time.Second, func(r *testutil.R) {
		if b.Waiting() == 0 {
			r.Fatalf("the query is not waiting yet")
		}
	})
	b.SetMembers(membership.Member{Name: "i-7", Status: membership.StatusAlive})
	select {
	case a := <-got:
		if a.err != nil || a.idx != idx+1 || len(a.ms) != 1 || a.ms[0].Name != "i-7" {
			t.Fatalf("after a change: %+v, want i-7 at index %d", a, idx+1)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("WatchMembers did not return after the change")
	}
}
