package membership

import (
	"context"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/farmhand/farmhand/testbed/testutil"
)

// settleFixture is a two-member cluster and a third node z whose own
// timers run on a fake clock, so that the syncs after its join happen
// exactly when the test advances the clock. Only the sync series waits on
// that clock: z's reconnect and isolation loops are off.
type settleFixture struct {
	seeds []*Cluster
	z     *Cluster
	clock *clockwork.FakeClock
}

func newSettleFixture(t *testing.T, syncs int) *settleFixture {
	t.Helper()
	f := &settleFixture{seeds: startN(t, "settle", 2, nil), clock: clockwork.NewFakeClock()}
	cfg := localConfig(t, "settle-z")
	cfg.Clock = f.clock
	cfg.ReconnectInterval = 0
	cfg.IsolationCheckInterval = 0
	cfg.JoinSyncDelay = time.Second
	cfg.JoinSyncs = syncs
	f.z = start(t, cfg)
	return f
}

// advance waits until the sync series is waiting on the clock, then moves
// the clock by d.
func (f *settleFixture) advance(t *testing.T, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), settle)
	defer cancel()
	if err := f.clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatalf("the sync series is not waiting on the clock: %v", err)
	}
	f.clock.Advance(d)
}

// waitSeriesOver polls until z's sync series has ended.
func (f *settleFixture) waitSeriesOver(t *testing.T) {
	t.Helper()
	testutil.Run(t, settle, func(r *testutil.R) {
		if f.z.settling.Load() {
			r.Fatalf("the sync series still runs")
		}
	})
}

// waitSyncs polls until z has made want syncs.
func (f *settleFixture) waitSyncs(t *testing.T, want uint64) {
	t.Helper()
	testutil.Run(t, settle, func(r *testutil.R) {
		if got := f.z.Stats().JoinSyncs; got != want {
			r.Fatalf("JoinSyncs = %d, want %d", got, want)
		}
	})
}

func TestJoinIsFollowedByOneSyncWhenTheViewIsQuiet(t *testing.T) {
	f := newSettleFixture(t, 3)
	join(t, f.z, f.seeds[0])
	waitAlive(t, append(f.seeds, f.z), 3)
	if n := f.z.Stats().JoinSyncs; n != 0 {
		t.Fatalf("JoinSyncs = %d right after the join, want 0 before JoinSyncDelay", n)
	}
	f.advance(t, time.Second)
	f.waitSyncs(t, 1)
	// The view did not grow while the series waited: it ends.
	f.waitSeriesOver(t)
	f.clock.Advance(time.Hour)
	if n := f.z.Stats().JoinSyncs; n != 1 {
		t.Errorf("JoinSyncs = %d an hour later, want 1", n)
	}
}

func TestSyncsContinueWhileTheViewGrowsUpToTheCap(t *testing.T) {
	for _, tc := range []struct {
		syncs int
		want  uint64
	}{{syncs: 3, want: 2}, {syncs: 1, want: 1}} {
		t.Run("", func(t *testing.T) {
			f := newSettleFixture(t, tc.syncs)
			join(t, f.z, f.seeds[0])
			// A member joins elsewhere while z waits: z hears of it, so
			// the cluster is still forming and the series goes on.
			late := start(t, localConfig(t, "settle-late"))
			join(t, late, f.seeds[1])
			waitAlive(t, []*Cluster{f.z}, 4)

			f.advance(t, time.Second)
			f.waitSyncs(t, 1)
			if tc.syncs > 1 {
				// The second sync comes twice as late, and finds the view
				// quiet: the series ends there.
				f.advance(t, 2*time.Second)
				f.waitSyncs(t, 2)
			}
			f.waitSeriesOver(t)
			f.clock.Advance(time.Hour)
			if n := f.z.Stats().JoinSyncs; n != tc.want {
				t.Errorf("JoinSyncs = %d, want %d", n, tc.want)
			}
		})
	}
}

func TestNoSyncsWhenDisabled(t *testing.T) {
	f := newSettleFixture(t, 0)
	join(t, f.z, f.seeds[0])
	f.clock.Advance(time.Hour)
	if f.z.settling.Load() {
		t.Error("a sync series runs with JoinSyncs 0")
	}
	if n := f.z.Stats().JoinSyncs; n != 0 {
		t.Errorf("JoinSyncs = %d with JoinSyncs 0, want 0", n)
	}
}
