package agent

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jonboulle/clockwork"

	"github.com/farmhand/farmhand/agent/config"
	"github.com/farmhand/farmhand/agent/localapi"
	"github.com/farmhand/farmhand/bootstrap"
	"github.com/farmhand/farmhand/testbed/testutil"
)

// fakeNotices is the IMDS as the watcher reads it.
type fakeNotices struct {
	mu    sync.Mutex
	n     bootstrap.Notices
	err   error
	reads int
}

func (f *fakeNotices) Read(context.Context) (bootstrap.Notices, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	return f.n, f.err
}

func (f *fakeNotices) set(n bootstrap.Notices, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n, f.err = n, err
}

func (f *fakeNotices) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads
}

// drainHarness runs a drainWatcher on a fake clock.
type drainHarness struct {
	t       *testing.T
	w       *drainWatcher
	clock   *clockwork.FakeClock
	notices *fakeNotices
	logs    *testutil.Buffer

	mu        sync.Mutex
	draining  []bool
	left      int
	announced int
	execs     []string // command + env
	// block makes on_drain wait until its context ends.
	block bool
}

func newDrainHarness(t *testing.T, edit func(*config.DrainConfig)) *drainHarness {
	cfg := config.Default()
	cfg.Drain.OnDrain = "decommission"
	if edit != nil {
		edit(&cfg.Drain)
	}
	h := &drainHarness{t: t, clock: clockwork.NewFakeClockAt(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)),
		notices: &fakeNotices{}, logs: &testutil.Buffer{}}
	var cur current
	cur.set(cfg)
	h.w = &drainWatcher{cfg: &cur, notices: h.notices, clock: h.clock,
		logger: hclog.New(&hclog.LoggerOptions{Output: h.logs, Level: hclog.Debug}),
		setDrain: func(d bool) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.draining = append(h.draining, d)
			return nil
		},
		leave: func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.left++
		},
		announceRebalance: func() error {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.announced++
			return nil
		},
		exec: func(ctx context.Context, command string, env []string) ([]byte, error) {
			h.mu.Lock()
			h.execs = append(h.execs, command+" "+strings.Join(env, " "))
			block := h.block
			h.mu.Unlock()
			if block {
				<-ctx.Done()
				return []byte("interrupted"), ctx.Err()
			}
			return []byte("decommissioned"), nil
		},
	}
	h.w.start()
	t.Cleanup(func() {
		if err := h.w.stop(context.Background()); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	// The first read is at once, before any notice.
	testutil.Run(t, 10*time.Second, func(r *testutil.R) {
		if h.notices.count() == 0 {
			r.Fatalf("no read at start")
		}
	})
	return h
}

// settle waits until the status satisfies ok, then until the watcher waits
// on the clock.
func (h *drainHarness) settle(what string, ok func(localapi.DrainStatus) bool) {
	h.t.Helper()
	testutil.Run(h.t, 10*time.Second, func(r *testutil.R) {
		if st := h.w.status(); st == nil || !ok(*st) {
			r.Fatalf("waiting for %s: %+v", what, st)
		}
	})
	h.waitIdle()
}

// waitIdle waits until the watcher waits on the fake clock (one timer).
func (h *drainHarness) waitIdle() {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.clock.BlockUntilContext(ctx, 1); err != nil {
		h.t.Fatalf("the watcher does not wait on the clock: %v", err)
	}
}

// poll advances one poll interval and waits for the read and the wait after it.
func (h *drainHarness) poll() {
	h.t.Helper()
	h.waitIdle()
	before := h.notices.count()
	h.clock.Advance(h.w.cfg.get().Drain.PollInterval)
	testutil.Run(h.t, 10*time.Second, func(r *testutil.R) {
		if h.notices.count() == before {
			r.Fatalf("no read after the poll interval")
		}
	})
}

func (h *drainHarness) snapshot() (draining []bool, left int, execs []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]bool(nil), h.draining...), h.left, append([]string(nil), h.execs...)
}

func (h *drainHarness) status() localapi.DrainStatus {
	st := h.w.status()
	if st == nil {
		h.t.Fatal("no drain status")
	}
	return *st
}

// A spot interruption with EC2's two minutes: draining at once, on_drain
// with the notice in its environment, and the leave only at leave_before
// (15 s) ahead of the deadline.
func TestDrainSpotInterruption(t *testing.T) {
	h := newDrainHarness(t, nil)
	h.poll() // nothing yet
	if d, l, e := h.snapshot(); len(d) != 0 || l != 0 || len(e) != 0 {
		t.Fatalf("without a notice: draining %v, left %d, on_drain %v", d, l, e)
	}
	deadline := h.clock.Now().Add(2*time.Minute + 5*time.Second)
	h.notices.set(bootstrap.Notices{SpotAction: "terminate", SpotTime: deadline}, nil)
	h.poll()
	h.settle("on_drain done", func(s localapi.DrainStatus) bool { return s.OnDrain == "ok" }) // then the leave time
	d, l, e := h.snapshot()
	if len(d) != 1 || !d[0] || l != 0 {
		t.Fatalf("after the notice: draining %v, left %d; want draining once, not left yet", d, l)
	}
	if len(e) != 1 || e[0] != "decommission FARMHAND_DRAIN_REASON=spot-interruption FARMHAND_DRAIN_ACTION=terminate FARMHAND_DRAIN_DEADLINE=2026-03-01T12:02:10Z" {
		t.Errorf("on_drain ran as %q", e)
	}
	st := h.status()
	if !st.Draining || st.Reason != drainSpot || st.OnDrain != "ok" || !st.Deadline.Equal(deadline) || !st.LeaveAt.Equal(deadline.Add(-15*time.Second)) {
		t.Errorf("status %+v", st)
	}
	h.clock.Advance(deadline.Add(-15*time.Second).Sub(h.clock.Now()) - time.Second)
	h.waitIdle()
	if _, l, _ := h.snapshot(); l != 0 {
		t.Fatal("left before leave_before ahead of the deadline")
	}
	h.clock.Advance(time.Second)
	testutil.Run(t, 10*time.Second, func(r *testutil.R) {
		if _, l, _ := h.snapshot(); l != 1 {
			r.Fatalf("left %d times, want once at the leave time", l)
		}
	})
	if !strings.Contains(h.logs.String(), "termination notice: draining") || !strings.Contains(h.logs.String(), "leaving the cluster and deleting our record before the deadline") {
		t.Errorf("log:\n%s", h.logs.String())
	}
}

// Auto Scaling's Terminated gives no deadline: the leave follows on_drain.
// A hung on_drain is cut at on_drain_timeout.
func TestDrainASGTerminationAndOnDrainTimeout(t *testing.T) {
	h := newDrainHarness(t, func(c *config.DrainConfig) { c.OnDrainTimeout = 30 * time.Second })
	h.block = true
	h.notices.set(bootstrap.Notices{LifecycleState: bootstrap.LifecycleTerminated}, nil)
	h.poll()
	h.settle("on_drain running", func(s localapi.DrainStatus) bool { return s.OnDrain == "running" })
	if d, l, _ := h.snapshot(); len(d) != 1 || l != 0 {
		t.Fatalf("during on_drain: draining %v, left %d", d, l)
	}
	if st := h.status(); st.OnDrain != "running" || st.Reason != drainASG || st.Action != "terminate" || !st.Deadline.IsZero() {
		t.Errorf("status during on_drain: %+v", st)
	}
	h.clock.Advance(30 * time.Second)
	testutil.Run(t, 10*time.Second, func(r *testutil.R) {
		if _, l, _ := h.snapshot(); l != 1 {
			r.Fatalf("left %d times after on_drain timed out", l)
		}
	})
	if st := h.status(); st.OnDrain != "timed out after 30s" {
		t.Errorf("on_drain outcome %q", st.OnDrain)
	}
	if h.logs.CountLines("on_drain timed out") != 1 {
		t.Errorf("log:\n%s", h.logs.String())
	}
}

// A rebalance recommendation alone is logged once and shown; it neither
// drains nor leaves, unless drain.rebalance = "drain" (draining, no leave).
func TestDrainRebalance(t *testing.T) {
	at := time.Date(2026, 3, 1, 11, 58, 7, 0, time.UTC)
	for _, policy := range []string{config.RebalanceWarn, config.RebalanceDrain} {
		t.Run(policy, func(t *testing.T) {
			h := newDrainHarness(t, func(c *config.DrainConfig) { c.Rebalance = policy })
			h.notices.set(bootstrap.Notices{RebalanceAt: at}, nil)
			h.poll()
			h.poll()
			h.poll()
			h.waitIdle()
			d, l, e := h.snapshot()
			st := h.status()
			if !st.RebalanceAt.Equal(at) || l != 0 {
				t.Errorf("status %+v, left %d", st, l)
			}
			h.mu.Lock()
			announced := h.announced
			h.mu.Unlock()
			if announced != 1 {
				t.Errorf("rebalance announced to the cluster %d times, want once whatever the policy (the coordinator's on_rebalance decides)", announced)
			}
			if h.logs.CountLines("rebalance recommendation") != 1 {
				t.Errorf("want one log line for three reads:\n%s", h.logs.String())
			}
			if policy == config.RebalanceWarn && (len(d) != 0 || st.Draining || len(e) != 0) {
				t.Errorf("warn: draining %v, status %+v, on_drain %v", d, st, e)
			}
			if policy == config.RebalanceDrain && (len(d) != 1 || !st.Draining || st.Reason != drainRebalance || len(e) != 1) {
				t.Errorf("drain: draining %v, status %+v, on_drain %v", d, st, e)
			}
		})
	}
}

// IMDS down or answering garbage: one log line per streak, the error in
// the status, polling goes on, and a notice read afterwards is acted on.
func TestDrainIMDSFaults(t *testing.T) {
	h := newDrainHarness(t, nil)
	fault := &bootstrap.NoticeError{Endpoint: "http://169.254.169.254", Path: bootstrap.SpotActionPath, Err: errors.New("connection refused")}
	h.notices.set(bootstrap.Notices{}, fault)
	h.poll()
	h.poll()
	h.poll()
	h.waitIdle()
	if n := h.logs.CountLines("cannot read termination notices from IMDS"); n != 1 {
		t.Errorf("%d warnings for three failed reads, want 1:\n%s", n, h.logs.String())
	}
	if st := h.status(); !strings.Contains(st.IMDSError, "connection refused") || st.Draining {
		t.Errorf("status %+v", st)
	}
	// A partial read: the spot path is garbage, Auto Scaling says Terminated.
	h.notices.set(bootstrap.Notices{LifecycleState: bootstrap.LifecycleTerminated}, fault)
	h.poll()
	testutil.Run(t, 10*time.Second, func(r *testutil.R) {
		if d, l, _ := h.snapshot(); len(d) != 1 || l != 1 {
			r.Fatalf("notice beside a fault: draining %v, left %d", d, l)
		}
	})
}

func TestDrainIMDSRecovers(t *testing.T) {
	h := newDrainHarness(t, nil)
	h.notices.set(bootstrap.Notices{}, errors.New("down"))
	h.poll()
	h.notices.set(bootstrap.Notices{}, nil)
	h.poll()
	h.waitIdle()
	if st := h.status(); st.IMDSError != "" {
		t.Errorf("error kept after a good read: %+v", st)
	}
	if h.logs.CountLines("termination notices readable from IMDS again") != 1 {
		t.Errorf("log:\n%s", h.logs.String())
	}
}
