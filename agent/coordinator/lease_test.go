package coordinator

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/farmhand/farmhand/membership"
	"github.com/farmhand/farmhand/testbed/testutil"
)

// leaseStores are the S3 implementations the lease tests run on: the
// in-memory fake, gofakes3 and versitygw. They answer a conditional write
// of a missing key differently (the fake and versitygw 404, as AWS does;
// gofakes3 412), and the lease must treat both as a lost condition.
func leaseStores(t *testing.T, test func(t *testing.T, newHarness func(mutate func(*Config)) *harness)) {
	t.Run("fake", func(t *testing.T) {
		test(t, func(mutate func(*Config)) *harness { return newHarnessOn(t, nil, mutate) })
	})
	for _, srv := range testutil.S3Servers {
		t.Run(srv.Name, func(t *testing.T) {
			if testing.Short() {
				t.Skipf("starts %s; skipped with -short", srv.Name)
			}
			store := testutil.NewS3Client(srv.Start(t, testBucket))
			test(t, func(mutate func(*Config)) *harness { return newHarnessOn(t, store, mutate) })
		})
	}
}

// deleteObject removes key from the harness's store, as an operator or a
// lifecycle rule might.
func (h *harness) deleteObject(key string) {
	h.t.Helper()
	if h.objects == ObjectStore(h.store) {
		h.store.mu.Lock()
		delete(h.store.objects, testBucket+"/"+key)
		h.store.mu.Unlock()
		return
	}
	if _, err := h.objects.(*s3.Client).DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(testBucket), Key: aws.String(key)}); err != nil {
		h.t.Fatal(err)
	}
}

// peer adds another coordinator on the harness's EC2 and (through its own
// cuttable path) store, with the same members in view.
func (h *harness) peer(name string) (*Coordinator, *cutStore) {
	h.t.Helper()
	path := &cutStore{ObjectStore: h.objects}
	view := &fakeView{self: membership.Member{Name: name, Status: membership.StatusAlive}, members: h.view.Members()}
	c, err := New(h.cfg, h.ec2, path, view)
	if err != nil {
		h.t.Fatal(err)
	}
	return c, path
}

func TestLeaseTwoCoordinatorsExactlyOneLeader(t *testing.T) {
	leaseStores(t, func(t *testing.T, newHarness func(func(*Config)) *harness) {
		h := newHarness(nil)
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
	})
}

func TestLeaseLeaderThatCannotRenewStopsBeforeExpiry(t *testing.T) {
	leaseStores(t, func(t *testing.T, newHarness func(func(*Config)) *harness) {
		h := newHarness(nil)
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
		if ok, failed := a.LeaseRenewals(); ok != 0 || failed == 0 {
			t.Fatalf("a's renewals: %d ok, %d failed; want none ok and some failed", ok, failed)
		}
		for range 3 { // b renews every half TTL
			h.clock.Advance(h.cfg.LeaseTTL / 2)
			h.tick(b)
		}
		if ok, failed := b.LeaseRenewals(); ok == 0 || failed != 0 {
			t.Fatalf("b's renewals: %d ok, %d failed; want some ok, none failed", ok, failed)
		}
		// a's path heals: its stale ETag gets 412, it stays a follower.
		pathA.setCut(false)
		h.clock.Advance(h.cfg.Interval)
		h.tick(a)
		h.tick(b)
		if a.lease.canAct() || !b.lease.canAct() {
			t.Fatal("after healing, a must follow and b lead")
		}
	})
}

func TestLeaseTakeoverWaitsAWholeTTLOfObservation(t *testing.T) {
	leaseStores(t, func(t *testing.T, newHarness func(func(*Config)) *harness) {
		h := newHarness(nil)
		// A lease whose holder's clock says it expired long ago (skew, or a
		// crash): a newcomer must still watch it unchanged for a whole TTL.
		rec, _ := json.Marshal(leaseRecord{Holder: "i-0dead", Epoch: 7, Expires: t0.Add(-time.Hour)})
		if _, err := putConditional(context.Background(), h.objects, testBucket, "farmhand/c1/lease", rec, ""); err != nil {
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
	})
}

func TestLeaseReleaseLetsSuccessorLeadAtOnce(t *testing.T) {
	leaseStores(t, func(t *testing.T, newHarness func(func(*Config)) *harness) {
		h := newHarness(nil)
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
	})
}

// A lease object deleted under its leader (by hand, or a lifecycle rule):
// the renewal's If-Match finds no object, which AWS and versitygw answer
// with 404 and gofakes3 with 412. Either way the leader stops acting at
// once: anyone may now create the lease with If-None-Match.
func TestLeaseDeletedUnderTheLeaderIsLostAtOnce(t *testing.T) {
	leaseStores(t, func(t *testing.T, newHarness func(func(*Config)) *harness) {
		h := newHarness(nil)
		h.alive(1, 4, "worker")
		a, _ := h.peer(iid(0xa))
		h.tick(a)
		if !a.lease.canAct() {
			t.Fatal("a should lead")
		}
		epoch := a.Status().Epoch
		h.deleteObject("farmhand/c1/lease")
		h.clock.Advance(h.cfg.LeaseTTL / 2) // a renewal is due under any schedule
		ev, err := a.lease.step(context.Background())
		if ev != leaseLost || !errors.Is(err, errFenced) {
			t.Fatalf("renewal of a deleted lease: event %v, error %v; want lost and fenced", ev, err)
		}
		if a.lease.canAct() {
			t.Fatal("a still acts after its lease object was deleted")
		}
		// Nobody else holds it: a creates it again, in a new epoch.
		h.clock.Advance(h.cfg.Interval)
		h.tick(a)
		if st := a.Status(); !st.Leader || st.Epoch <= epoch {
			t.Fatalf("status %+v, want leader again above epoch %d", st, epoch)
		}
	})
}

// TestOnDecisionSeesEveryRecordedDecision checks the hook the agent's
// metrics and event handlers use: it gets each decision as recorded,
// stamped with epoch and holder.
func TestOnDecisionSeesEveryRecordedDecision(t *testing.T) {
	leaseStores(t, func(t *testing.T, newHarness func(func(*Config)) *harness) {
		var mu sync.Mutex
		var seen []Decision
		h := newHarness(func(c *Config) {
			c.OnDecision = func(d Decision) {
				mu.Lock()
				defer mu.Unlock()
				seen = append(seen, d)
			}
		})
		h.alive(1, 4, "worker")
		h.tick(h.c)
		mu.Lock()
		defer mu.Unlock()
		hist := h.c.History(0)
		if len(seen) == 0 || len(seen) != len(hist) {
			t.Fatalf("OnDecision saw %d decisions, history has %d", len(seen), len(hist))
		}
		if d := seen[0]; d.Code != CodeAcquired || d.Epoch == 0 || d.Holder == "" {
			t.Fatalf("first decision %+v, want the lease acquisition stamped with epoch and holder", d)
		}
	})
}
