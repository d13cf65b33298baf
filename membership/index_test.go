package membership

import (
	"context"
	"testing"
	"time"

	"github.com/farmhand/farmhand/testbed/testutil"
)

// TestViewIndexMovesOnEveryChange checks that each visible change (join,
// update, status, reap) raises the index by one, that the event carries
// it, and that a no-op leaves it alone.
func TestViewIndexMovesOnEveryChange(t *testing.T) {
	f := newViewFixture(t, time.Minute)
	if got := f.v.currentIndex(); got != 1 {
		t.Fatalf("initial index = %d, want 1", got)
	}
	f.v.observeAlive(node(t, "a", map[string]string{"role": "worker"}, 0))
	if ev := f.next(); ev.Index != 2 || f.v.currentIndex() != 2 {
		t.Fatalf("after join: event index %d, view index %d, want 2", ev.Index, f.v.currentIndex())
	}
	f.v.observeAlive(node(t, "a", map[string]string{"role": "worker"}, 0)) // nothing new
	f.none()
	if got := f.v.currentIndex(); got != 2 {
		t.Fatalf("a no-op update moved the index to %d", got)
	}
	f.v.observeAlive(node(t, "a", map[string]string{"role": "master"}, 0))
	f.v.observeLeave(node(t, "a", map[string]string{"role": "master"}, 0))
	f.clock.Advance(time.Minute)
	f.v.tick()
	for _, want := range []uint64{3, 4, 5} {
		if ev := f.next(); ev.Index != want {
			t.Fatalf("event %s index %d, want %d", ev.Type, ev.Index, want)
		}
	}
}

// TestViewWaitIndexBlocksUntilChange checks the blocking query's wait: it
// returns at once for a stale or foreign index, blocks on the current one
// until a change, and returns the unchanged index when its context ends.
func TestViewWaitIndexBlocksUntilChange(t *testing.T) {
	f := newViewFixture(t, time.Hour)
	ctx := context.Background()
	if got := f.v.waitIndex(ctx, 0); got != 1 {
		t.Fatalf("waitIndex(0) = %d, want 1 at once", got)
	}
	if got := f.v.waitIndex(ctx, 99); got != 1 {
		t.Fatalf("waitIndex(99) from another run = %d, want 1 at once", got)
	}
	got := make(chan uint64, 1)
	go func() { got <- f.v.waitIndex(ctx, 1) }()
	// The waiter must not return before the change: wait until it is
	// parked on the changed channel, then check it has not answered.
	testutil.Run(t, 5*time.Second, func(r *testutil.R) {
		f.v.mu.Lock()
		parked := f.v.changed != nil
		f.v.mu.Unlock()
		if !parked {
			r.Fatalf("the waiter never parked")
		}
	})
	select {
	case i := <-got:
		t.Fatalf("waitIndex returned %d before any change", i)
	default:
	}
	f.v.observeAlive(node(t, "a", nil, 0))
	select {
	case i := <-got:
		if i != 2 {
			t.Fatalf("waitIndex = %d after the join, want 2", i)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("waitIndex did not return after a change")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if got := f.v.waitIndex(cctx, 2); got != 2 {
		t.Fatalf("waitIndex with an ended context = %d, want 2", got)
	}
}
