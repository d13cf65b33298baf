package coordinator

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/farmhand/farmhand/membership"
)

// peer adds another coordinator on the harness's EC2 and (through its own
// cuttable path) store, with the same members in view.
func (h *harness) peer(name string) (*Coordinator, *cutStore) {
	h.t.Helper()
	path := &cutStore{ObjectStore: h.store}
	view := &fakeView{self: membership.Member{Name: name, Status: membership.StatusAlive}, members: h.view.Members()}
	c, err := New(h.cfg, h.ec2, path, view)
	if err != nil {
		h.t.Fatal(err)
	}
	return c, path
}

func TestLeaseTwoCoordinatorsExactlyOneLeader(t *testing.T) {
	h := newHarness(t, nil)
	h.alive(1, 4, "worker")
	a, _ := h.peer(iid(0xa))
	b, _ := h.peer(iid(0xb))
	for step := range 30 {
		// Alternate who ticks first.
		first, second := a, b
		if step%2 == 1 {
			first, second = b, a
		}
		h.tick(first)
		h.tick(second)
		la, lb := a.Status(), b.Status()
		if la.Leader == lb.Leader {
			t.Fatalf("step %d: leader a=%v b=%v, want exactly one", step, la.Leader, lb.Leader)
		}
		if la.Epoch != 1 || lb.Epoch != 1 {
			t.Fatalf("step %d: epochs %d, %d: leadership changed hands without a failure", step, la.Epoch, lb.Epoch)
		}
		h.clock.Advance(h.cfg.Interval)
	}
}

func TestLeaseLeaderThatCannotRenewStopsBeforeExpiry(t *testing.T) {
	h := newHarness(t, nil)
	h.alive(1, 4, "worker")
	a, pathA := h.peer(iid(0xa))
	b, _ := h.peer(iid(0xb))
	h.tick(a)
	h.tick(b)
	if !a.lease.canAct() || b.lease.canAct() {
		t.Fatal("a should lead")
	}
	pathA.setCut(true)
	var aStopped, bStarted time.Time
	for range 120 {
		h.clock.Advance(time.Second)
		h.tick(a)
		h.tick(b)
		aActs, bActs := a.lease.canAct(), b.lease.canAct()
		if aActs && bActs {
			t.Fatalf("at %s both may act", h.clock.Now().Sub(t0))
		}
		if !aActs && aStopped.IsZero() {
			aStopped = h.clock.Now()
		}
		if bActs && bStarted.IsZero() {
			bStarted = h.clock.Now()
		}
	}
	if aStopped.IsZero() || bStarted.IsZero() {
		t.Fatalf("a stopped at %v, b started at %v: failover did not happen", aStopped, bStarted)
	}
	if gap := bStarted.Sub(aStopped); gap < h.cfg.LeaseMargin {
		t.Fatalf("b started %s after a stopped, want at least the margin %s", gap, h.cfg.LeaseMargin)
	}
	if aStopped.After(t0.Add(h.cfg.LeaseTTL - h.cfg.LeaseMargin)) {
		t.Fatalf("a acted until %s, past renewal + ttl - margin", aStopped.Sub(t0))
	}
	if e := b.Status().Epoch; e != 2 {
		t.Fatalf("b epoch %d, want 2", e)
	}
	mustDecision(t, a, CodeLost, "")
	// a's path heals: its stale ETag gets 412, it stays a follower.
	pathA.setCut(false)
	h.clock.Advance(h.cfg.Interval)
	h.tick(a)
	h.tick(b)
	if a.lease.canAct() || !b.lease.canAct() {
		t.Fatal("after healing, a must follow and b lead")
	}
}

func TestLeaseTakeoverWaitsAWholeTTLOfObservation(t *testing.T) {
	h := newHarness(t, nil)
	// A lease whose holder's clock says it expired long ago (skew, or a
	// crash): a newcomer must still watch it unchanged for a whole TTL.
	rec, _ := json.Marshal(leaseRecord{Holder: "i-0dead", Epoch: 7, Expires: t0.Add(-time.Hour)})
	if _, err := putConditional(context.Background(), h.store, testBucket, "farmhand/c1/lease", rec, ""); err != nil {
		t.Fatal(err)
	}
	h.tick(h.c)
	if h.c.lease.canAct() {
		t.Fatal("took over a lease on the holder's clock alone")
	}
	h.clock.Advance(h.cfg.LeaseTTL - time.Second)
	h.tick(h.c)
	if h.c.lease.canAct() {
		t.Fatal("took over before observing the lease for a TTL")
	}
	h.clock.Advance(time.Second)
	h.tick(h.c)
	if !h.c.lease.canAct() || h.c.Status().Epoch != 8 {
		t.Fatalf("status %+v, want leader at epoch 8", h.c.Status())
	}
}

func TestLeaseReleaseLetsSuccessorLeadAtOnce(t *testing.T) {
	h := newHarness(t, nil)
	h.alive(1, 4, "worker")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.c.Run(ctx) }()
	waitFor(t, func() bool { return h.c.Status().Leader })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run returned %v after cancel, want nil", err)
	}
	b, _ := h.peer(iid(0xb))
	h.tick(b)
	if !b.lease.canAct() || b.Status().Epoch != 2 {
		t.Fatalf("successor %+v, want leader at epoch 2 without waiting a TTL", b.Status())
	}
	mustDecision(t, h.c, CodeReleased, "")
}
