package membership

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/farmhand/farmhand/testbed/testutil"
)

// TestSuspicionEndsWhenTheMemberAnswersAgain suspects a member as a failed
// probe would, and expects the recheck loop to end the suspicion at the
// first ping the member answers, one ProbeInterval later, not when the
// longest memberlist suspicion would be over. Only the pings are faked;
// the recheck loop and the maintenance loop run on a fake clock.
func TestSuspicionEndsWhenTheMemberAnswersAgain(t *testing.T) {
	seeds := startN(t, "recheck", 2, nil)
	clock := clockwork.NewFakeClock()
	cfg := localConfig(t, "recheck-z")
	cfg.Clock = clock
	cfg.ReconnectInterval = 0
	cfg.IsolationCheckInterval = 0
	cfg.JoinSyncs = 0
	// z's own probes (on the real clock) would end the suspicion too: make
	// them too rare to happen during the test.
	cfg.Memberlist.ProbeInterval = time.Hour
	z := start(t, cfg)
	join(t, z, seeds[0])
	waitAlive(t, append(seeds, z), 3)

	var answers atomic.Bool
	var pings atomic.Int32
	z.ping = func(m Member) error {
		pings.Add(1)
		if m.Name != "recheck-1" {
			t.Errorf("pinged %s, want only the suspect recheck-1", m.Name)
		}
		if answers.Load() {
			return nil
		}
		return errors.New("no ack")
	}
	interval := z.mlConf.ProbeInterval
	// Both loops wait on the clock once a member is suspect: the
	// maintenance loop for the suspicion's lapse, the recheck loop for its
	// next ping.
	advance := func() {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), settle)
		defer cancel()
		if err := clock.BlockUntilContext(ctx, 2); err != nil {
			t.Fatalf("the recheck and maintenance loops are not both waiting: %v", err)
		}
		clock.Advance(interval)
	}
	z.view.suspect("recheck-1")
	status := func() Status { m, _ := z.view.member("recheck-1"); return m.Status }
	for i := 1; i <= 3; i++ {
		advance()
		testutil.Run(t, settle, func(r *testutil.R) {
			if n := pings.Load(); n != int32(i) {
				r.Fatalf("%d pings after %d intervals, want one per interval", n, i)
			}
		})
		if s := status(); s != StatusSuspect {
			t.Fatalf("recheck-1 is %s after an unanswered ping, want still suspect", s)
		}
	}
	answers.Store(true)
	advance()
	testutil.Run(t, settle, func(r *testutil.R) {
		if s := status(); s != StatusAlive {
			r.Fatalf("recheck-1 is %s after it answered, want alive", s)
		}
	})
	if lapse := z.view.suspectTTL(3); lapse < 4*interval+time.Second {
		t.Errorf("suspectTTL %s is too short for this test to tell a recheck from a lapse", lapse)
	}
	// Nobody is suspect: no more pings, however long.
	clock.Advance(time.Minute)
	if n := pings.Load(); n != 4 {
		t.Errorf("%d pings in all, want 4 (none once nobody is suspect)", n)
	}
}
