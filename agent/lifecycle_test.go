package agent

import (
	"context"
	"errors"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jonboulle/clockwork"

	"github.com/farmhand/farmhand/agent/config"
	"github.com/farmhand/farmhand/testbed/ec2emu"
	"github.com/farmhand/farmhand/testbed/testutil"
)

// A second SIGTERM exits at once, even while the first one's graceful stop
// is stuck: here S3 never answers, so the record's deletion waits for its
// share of a 60 s leave_timeout. (The signal loop used to return after the
// first signal, and the second was swallowed.)
func TestSecondSignalExitsAtOnce(t *testing.T) {
	f := newFarm(t)
	f.log.setHung(true) // every S3 request hangs until its caller gives up
	sock, msgs := listenNotify(t)
	p := f.startProcessWith(nodeName(0), "c1", "60s", "NOTIFY_SOCKET="+sock)
	waitAPI(t, p)

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	nextNotify(t, msgs, "STOPPING=1", 10*time.Second)
	select {
	case err := <-p.exited:
		t.Fatalf("the agent finished its stop (%v) before the second signal: S3 should have held it", err)
	default:
	}
	second := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.exited:
		p.exited <- err
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != exitNowCode {
			t.Fatalf("after the second SIGTERM the agent exited with %v, want exit code %d", err, exitNowCode)
		}
		t.Logf("exited %s after the second signal", time.Since(second).Round(time.Millisecond))
	case <-time.After(5 * time.Second):
		t.Fatal("the agent was still running 5s after a second SIGTERM (the graceful stop had 60s)")
	}
}

// exitNowCode is cmd/farmhand's exit code after a second signal.
const exitNowCode = 130

// The boot loop stops before the record is deleted, so a stop during an S3
// outage leaves no record behind when S3 recovers. Here S3 is down from the
// start; the deregistration's first request is held while S3 recovers and
// the (fake) clock runs on, which would wake a boot loop still running:
// no registration may reach S3 after the deregistration began. (The boot
// loop used to stop last, after the deregistration, and registered again.)
func TestStopDuringS3OutageLeavesNoRecord(t *testing.T) {
	f := newFarm(t)
	f.s3.SetDown(true)
	clock := clockwork.NewFakeClock()
	cfg := f.config(nodeName(0), "c1")
	nodePrefix := "prefix=" + strings.ReplaceAll("farmhand/c1/nodes/"+nodeName(0)+"/", "/", "%2F")
	var deregistering atomic.Bool
	deregStarted := make(chan struct{})
	putAfter := make(chan struct{})
	var once, putOnce sync.Once
	f.log.setHook(func(r *http.Request) {
		switch {
		case r.Method == http.MethodGet && strings.Contains(r.URL.RawQuery, nodePrefix) && !deregistering.Load():
			// The deregistration lists this node's keys first: hold it, as
			// a slow S3 would, until a registration overtakes it or the
			// agent gives up on it.
			deregistering.Store(true)
			once.Do(func() { close(deregStarted) })
			select {
			case <-putAfter:
			case <-r.Context().Done():
			}
		case r.Method == http.MethodPut && deregistering.Load():
			putOnce.Do(func() { close(putAfter) })
		}
	})

	a := f.run(cfg, Options{Clock: clock, Logger: testLogger(t, cfg)})
	waitRegisterTried(t, f)

	a.cancel() // stop during the outage
	select {
	case <-deregStarted:
	case <-a.exited:
		t.Fatalf("Run returned (%v) without deregistering", a.err)
	case <-time.After(10 * time.Second):
		t.Fatal("the stop never began the deregistration")
	}
	f.s3.SetDown(false) // S3 recovers
	advanceUntil(t, clock, time.Hour, a)

	var seenDereg bool
	for _, req := range f.log.requests() {
		seenDereg = seenDereg || strings.Contains(req, nodePrefix)
		if seenDereg && strings.HasPrefix(req, "PUT ") {
			t.Errorf("registered after the deregistration began: %s\nrequests: %q", req, f.log.requests())
		}
	}
	if f.recordExists("c1", nodeName(0)) {
		t.Error("a record remains after the stop, once S3 recovered")
	}
}

// advanceUntil advances clock by step until a's Run has returned.
func advanceUntil(t *testing.T, clock *clockwork.FakeClock, step time.Duration, a *testAgent) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		clock.Advance(step)
		select {
		case <-a.exited:
			if a.err != nil {
				t.Fatalf("Run: %v", a.err)
			}
			return
		case <-deadline:
			t.Fatal("Run did not return")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// waitRegisterTried waits for the boot loop's first registration attempt.
func waitRegisterTried(t *testing.T, f *farm) {
	t.Helper()
	testutil.Run(t, 20*time.Second, func(r *testutil.R) {
		if f.s3.Counts().Put == 0 {
			r.Fatalf("the boot loop has not tried to register yet")
		}
	})
}

// testLogger logs at debug level to the test log.
func testLogger(t *testing.T, cfg *config.Config) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: cfg.Identity.InstanceID, Level: hclog.Debug, Output: testutil.LogWriter(t)})
}

// The whole stop ends within leave_timeout even when steps hang. Here the
// coordinator holds the lease when S3 stops answering: releasing it, the
// ledger write and the record's deletion all hang. (The coordinator used
// to be stopped last, after an unbounded wait of its own 5 s.)
func TestStopIsBoundedWhenStepsHang(t *testing.T) {
	setAWSEnv(t)
	f := newFarm(t)
	cfg := f.config(nodeName(0), "c1")
	cfg.LeaveTimeout = 2 * time.Second
	withCoordinator(cfg, startEC2(t))
	a := f.start(cfg)
	testutil.Run(t, 20*time.Second, func(r *testutil.R) {
		st, err := a.client().CoordinatorStatus(context.Background())
		if err != nil || !st.Leader {
			r.Fatalf("coordinator not leader yet: %+v, %v", st, err)
		}
	})

	f.log.setHung(true)
	start := time.Now()
	a.cancel()
	select {
	case <-a.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10s")
	}
	took := time.Since(start)
	t.Logf("stop took %s with leave_timeout %s", took.Round(time.Millisecond), cfg.LeaveTimeout)
	if took > cfg.LeaveTimeout+500*time.Millisecond {
		t.Errorf("stop took %s, want at most leave_timeout %s (+0.5s)", took.Round(time.Millisecond), cfg.LeaveTimeout)
	}
}

// setAWSEnv gives in-process SDK clients static credentials and no IMDS,
// so nothing leaves loopback.
func setAWSEnv(t *testing.T) {
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
	} {
		t.Setenv(k, v)
	}
}

// startEC2 starts an EC2 emulator for the test and returns its URL.
func startEC2(t *testing.T) string {
	t.Helper()
	srv, err := ec2emu.Start("127.0.0.1:0", ec2emu.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv.URL()
}

// withCoordinator enables the coordinator on cfg against the EC2 endpoint,
// with one group of this node's role and quick ticks.
func withCoordinator(cfg *config.Config, ec2URL string) {
	cfg.EC2.Endpoint = ec2URL
	cfg.Coordinator.Enabled = true
	cfg.Coordinator.Interval = 500 * time.Millisecond
	cfg.Coordinator.LeaseTTL = 5 * time.Second
	cfg.Coordinator.Groups = []config.GroupConfig{{Name: "worker", Role: "worker", Min: 1, Max: 3,
		ImageID: "ami-0123456789abcdef0", InstanceType: "t3.micro", Subnets: []string{"subnet-0a0000000000000a1"}}}
}

// Each stop step gets its share; one that hangs is left behind and the
// next ones still run, within the total.
func TestStopSequenceBoundsEveryStep(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	s := newStopSequence(400*time.Millisecond, hclog.NewNullLogger())
	hang := func(context.Context) error { <-release; return nil }
	var ran []string
	start := time.Now()
	s.step("hangs", 0.5, hang)
	s.step("ignores its context", 0.25, hang)
	s.step("quick", 0.1, func(context.Context) error { ran = append(ran, "quick"); return nil })
	s.step("sees its deadline", 0.5, func(ctx context.Context) error {
		if d, ok := ctx.Deadline(); !ok || time.Until(d) > 200*time.Millisecond {
			t.Errorf("a step got a deadline %v past the total", d)
		}
		ran = append(ran, "deadline")
		return nil
	})
	if took := time.Since(start); took > 450*time.Millisecond {
		t.Errorf("steps took %s, want at most the 400ms total", took)
	}
	if len(ran) != 2 {
		t.Errorf("steps after the hung ones ran: %v, want both", ran)
	}
}

// Without S3, READY comes after 60 s anyway, with a status saying why, so
// that systemd does not restart the agent in a loop during an outage. The
// 60 s pass on a fake clock.
func TestReadyAfterDeadlineWithoutS3(t *testing.T) {
	sock, msgs := listenNotify(t)
	t.Setenv("NOTIFY_SOCKET", sock)
	f := newFarm(t)
	f.s3.SetDown(true)
	clock := clockwork.NewFakeClock()
	cfg := f.config(nodeName(0), "c1")
	a := f.run(cfg, Options{Clock: clock, Logger: testLogger(t, cfg)})
	waitRegisterTried(t, f)

	var advanced time.Duration
	for ready := false; !ready; {
		if advanced > 120*time.Second {
			t.Fatalf("no READY after %s of fake time without S3", advanced)
		}
		clock.Advance(5 * time.Second)
		advanced += 5 * time.Second
		select {
		case <-a.Ready():
			ready = true
		case <-time.After(50 * time.Millisecond):
		}
	}
	if advanced < readyDeadline {
		t.Errorf("READY after %s of fake time, before the %s deadline", advanced, readyDeadline)
	}
	nextNotify(t, msgs, "READY=1", 5*time.Second)
	if st := nextNotify(t, msgs, "STATUS=alive", 5*time.Second); !strings.Contains(st, "S3 registry unreachable") {
		t.Errorf("status %q does not say that S3 is unreachable", st)
	}
	if a.State() != StateAlive {
		t.Errorf("state %q, want alive", a.State())
	}
}

// With WatchdogSec set, systemd gets WATCHDOG=1 at half the interval.
func TestWatchdogPingsAtHalfTheInterval(t *testing.T) {
	sock, msgs := listenNotify(t)
	t.Setenv("NOTIFY_SOCKET", sock)
	t.Setenv("WATCHDOG_USEC", "4000000") // WatchdogSec=4s
	f := newFarm(t)
	clock := clockwork.NewFakeClock()
	cfg := f.config(nodeName(0), "c1")
	a := f.startWith(cfg, Options{Clock: clock})
	nextNotify(t, msgs, "READY=1", 10*time.Second)

	for i := range 3 {
		clock.Advance(2 * time.Second)
		nextNotify(t, msgs, "WATCHDOG=1", 5*time.Second)
		t.Logf("ping %d", i+1)
	}
	a.stop(t)
}

// A wedged agent stops pinging: the probe (memberlist's lock, in the
// agent) blocks, and so does the ping after it.
func TestWatchdogStopsPingingWhenWedged(t *testing.T) {
	sock, msgs := listenNotify(t)
	t.Setenv("NOTIFY_SOCKET", sock)
	clock := clockwork.NewFakeClock()
	wedged := make(chan struct{})
	probed := make(chan struct{}, 10)
	w := &watchdog{interval: 2 * time.Second, clock: clock, notify: notifier{logger: hclog.NewNullLogger()},
		probe: func() { probed <- struct{}{}; <-wedged }}
	w.start()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal("the watchdog made no ticker")
	}
	clock.Advance(time.Second)
	select {
	case <-probed:
	case <-time.After(5 * time.Second):
		t.Fatal("the watchdog did not probe at half its interval")
	}
	select {
	case m := <-msgs:
		t.Fatalf("a wedged agent pinged: %q", m)
	case <-time.After(200 * time.Millisecond):
	}
	close(wedged)
	nextNotify(t, msgs, "WATCHDOG=1", 5*time.Second)
	if err := w.stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}
