package agent

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jonboulle/clockwork"

	"github.com/farmhand/farmhand/agent/client"
	"github.com/farmhand/farmhand/bootstrap"
	"github.com/farmhand/farmhand/membership"
	"github.com/farmhand/farmhand/testbed/testutil"
)

// outageWindow is how long S3 fails in the error-storm tests: long enough
// for several boot rounds, and for the old pacing (six attempts per call,
// registration and discovery in every round: about 35 requests in 20 s) to
// exceed outageRequestLimit.
const outageWindow = 20 * time.Second

// outageRounds is the most bootstrap rounds that start within outageWindow
// of a booting agent, except with odds below one in a million. While S3 is
// unavailable a round makes one registry call of registryAttempts attempts
// (discovery waits for the next round), then waits a full-jitter
// rand[0, min(30 s, 1 s*2^round)] (agent/join.go). On average round k starts
// at 0.6, 1.7, 3.8, 7.9, 16 s...: 6 rounds in 20 s. Twelve rounds need 11
// waits summing under 20 s (a simulation of a million boots saw at most 11).
const outageRounds = 12

// outageRequestLimit is the most S3 requests a booting agent may send in
// outageWindow of an S3 outage; docs/operations.md states the bound.
const outageRequestLimit = outageRounds * registryAttempts

// inProcessSource is the address in-process agents' S3 requests come from:
// their client (farm.s3Client) is not bound to their own address.
const inProcessSource = "127.0.0.1"

// A storm of S3 errors does not touch a formed cluster, which needs S3 only
// to bootstrap; an agent booting meanwhile retries with backoff, within its
// request budget, and joins once S3 answers again.
func TestS3ErrorStormClusterKeepsMembersNewcomerBacksOffThenJoins(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status int
		code   string
	}{
		{http.StatusServiceUnavailable, "SlowDown"},
		{http.StatusInternalServerError, "InternalError"},
	} {
		t.Run(fmt.Sprintf("%d %s", tc.status, tc.code), func(t *testing.T) {
			t.Parallel()
			f := newFarm(t)
			a := f.start(f.config(nodeName(0), "c1"))
			b := f.start(f.config(nodeName(1), "c1"))
			waitAlive(t, 2, a, b)
			runningBefore := f.s3.CountsFrom(inProcessSource).Total()

			f.s3.SetError(tc.status, tc.code)
			start := time.Now()
			p := f.startProcess(nodeName(2), "c1")
			waitAPI(t, p)
			hold(t, outageWindow-time.Since(start), func() error {
				if err := aliveExactly(2, a, b); err != nil {
					return err
				}
				st, err := p.client().Status(context.Background())
				if err != nil {
					return err
				}
				if st.State != StateBootstrapping || st.Counts["alive"] != 1 {
					return fmt.Errorf("newcomer is %s and sees %d alive during the outage, want bootstrapping and alone", st.State, st.Counts["alive"])
				}
				return nil
			})
			window := time.Since(start)
			reqs := f.s3.CountsFrom(p.ip)
			running := f.s3.CountsFrom(inProcessSource).Total() - runningBefore
			f.s3.SetError(0, "")

			t.Logf("%d %s for %.1fs: the newcomer made %d S3 requests (%+v)", tc.status, tc.code, window.Seconds(), reqs.Total(), reqs)
			if running != 0 {
				t.Errorf("the running members made %d S3 requests during the outage; a formed cluster needs none", running)
			}
			if reqs.Total() < 2 || reqs.Total() > outageRequestLimit {
				t.Errorf("newcomer made %d S3 requests in %.1fs of errors; want it to retry (2 or more) within its budget of %d",
					reqs.Total(), window.Seconds(), outageRequestLimit)
			}

			waitAlive(t, 3, a, b)
			waitProcessAlive(t, p, 3)
			testutil.Run(t, 30*time.Second, func(r *testutil.R) {
				if !f.recordExists("c1", p.name) {
					r.Fatalf("the newcomer joined but has not registered")
				}
			})
		})
	}
}

// An S3 that takes 2 s over every answer slows a boot down but does not
// stop it, and the running members do not notice.
func TestSlowS3AnswersNewcomerStillJoins(t *testing.T) {
	t.Parallel()
	f := newFarm(t)
	a := f.start(f.config(nodeName(0), "c1"))
	b := f.start(f.config(nodeName(1), "c1"))
	waitAlive(t, 2, a, b)

	f.s3.SetDelay(2 * time.Second)
	p := f.startProcess(nodeName(2), "c1")
	waitProcessAlive(t, p, 3)
	waitAlive(t, 3, a, b)
	f.s3.SetDelay(0)
	if reqs := f.s3.CountsFrom(p.ip); reqs.Put < 1 || reqs.List < 1 {
		t.Fatalf("the newcomer joined without registering and listing through the slow S3: %+v", reqs)
	}
}

// Listings cut into small pages are followed to the end; a listing that
// ends early still leads into the cluster, whose gossip fills in the rest.
func TestTruncatedListingsStillLeadIntoTheCluster(t *testing.T) {
	t.Parallel()
	f := newFarm(t)
	var as []*testAgent
	for i := range 3 {
		as = append(as, f.start(f.config(nodeName(i), "c1")))
	}
	waitAlive(t, 3, as...)

	// Pages of one key, each with a continuation token.
	f.s3.TruncateListings(1)
	d := f.start(f.config(nodeName(3), "c1"))
	as = append(as, d)
	waitAlive(t, 4, as...)
	if n := d.registry.LastListed(); n != 4 {
		t.Errorf("with one-key pages the newcomer listed %d records, want all 4", n)
	}
	if st := d.registry.Stats(); st.List < 4 {
		t.Errorf("the newcomer made %d LIST requests for 4 keys in one-key pages", st.List)
	}
	f.s3.TruncateListings(0)

	// A listing that says it is complete after one key.
	f.s3.EndListingsEarly(1)
	e := f.start(f.config(nodeName(4), "c1"))
	as = append(as, e)
	waitAlive(t, 5, as...)
	if n := e.registry.LastListed(); n != 2 {
		t.Errorf("the short listing showed the newcomer %d records (itself included), want 2", n)
	}
}

// waitAPI waits until p's local API answers.
func waitAPI(t *testing.T, p *agentProcess) {
	t.Helper()
	testutil.Run(t, 20*time.Second, func(r *testutil.R) {
		if _, err := p.client().Status(context.Background()); err != nil {
			r.Fatalf("agent %s: %v", p.name, err)
		}
	})
}

// waitProcessAlive waits until p is alive and sees want alive members.
func waitProcessAlive(t *testing.T, p *agentProcess, want int) {
	t.Helper()
	testutil.Run(t, 40*time.Second, func(r *testutil.R) {
		st, err := p.client().Status(context.Background())
		if err != nil {
			r.Fatalf("agent %s: %v", p.name, err)
		}
		if st.State != StateAlive || st.Counts["alive"] != want {
			r.Fatalf("agent %s is %s and sees %d alive, want alive and %d", p.name, st.State, st.Counts["alive"], want)
		}
	})
}

// aliveExactly returns an error unless every agent in as sees want alive
// members.
func aliveExactly(want int, as ...*testAgent) error {
	for _, a := range as {
		ms, err := a.client().Members(context.Background(), client.Filter{Status: string(membership.StatusAlive)})
		if err != nil {
			return fmt.Errorf("%s: %w", a.cfg.Identity.InstanceID, err)
		}
		if len(ms) != want {
			return fmt.Errorf("%s sees %d alive, want %d", a.cfg.Identity.InstanceID, len(ms), want)
		}
	}
	return nil
}

// hold checks cond every 100 ms for window and fails t the first time it
// does not hold.
func hold(t *testing.T, window time.Duration, cond func() error) {
	t.Helper()
	end := time.After(window)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for polls := 0; ; polls++ {
		if err := cond(); err != nil {
			t.Fatalf("after %d polls: %v", polls, err)
		}
		select {
		case <-end:
			return
		case <-tick.C:
		}
	}
}

// READY can come before the bootstrap loop has joined (after the S3
// deadline, or when no candidate answered); that loop keeps discovering
// with its own backoff, so membership's isolation rediscovery must stay off
// until it has joined, or an outage's requests double.
func TestIsolationRediscoveryWaitsForTheBootstrapJoin(t *testing.T) {
	f := newFarm(t)
	cfg := f.config(nodeName(0), "c1")
	id := bootstrap.Identity{InstanceID: cfg.Identity.InstanceID, PrivateIP: cfg.Identity.PrivateIP}
	reg, _, err := newRegistry(context.Background(), cfg, &node{identity: id, cfg: &current{cfg: cfg}}, f.s3Client(),
		clockwork.NewRealClock(), hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	ready := newReadiness(notifier{logger: hclog.NewNullLogger()})
	b := &bootLoop{registry: reg, identity: id, joinFanout: 3, ready: ready, joined: make(chan struct{})}

	ready.markReady("by the deadline") // READY, but the bootstrap loop has not joined
	if addrs, err := b.discoverOnceJoined(context.Background()); addrs != nil || err != nil {
		t.Fatalf("isolation discovery before the bootstrap join = %v, %v; want nothing", addrs, err)
	}
	if n := f.s3.Counts().Total(); n != 0 {
		t.Fatalf("isolation discovery before the bootstrap join made %d S3 requests", n)
	}

	close(b.joined)
	if _, err := b.discoverOnceJoined(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := f.s3.Counts().List; n != 1 {
		t.Fatalf("isolation discovery after the bootstrap join made %d LIST requests, want 1", n)
	}
}
