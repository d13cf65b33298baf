package ec2emu

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/farmhand/farmhand/testbed/testutil"
	"github.com/jonboulle/clockwork"
)

// hookLog records hook calls.
type hookLog struct {
	mu        sync.Mutex
	launched  []Instance
	started   []Instance
	rebooted  []string
	stopped   []string
	killed    []string
	launchErr error
	startErr  error
}

func (h *hookLog) hooks() Hooks {
	return Hooks{
		OnLaunch: func(_ context.Context, inst Instance) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.launched = append(h.launched, inst)
			return h.launchErr
		},
		OnStart: func(_ context.Context, inst Instance) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.started = append(h.started, inst)
			return h.startErr
		},
		OnReboot: func(_ context.Context, inst Instance) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.rebooted = append(h.rebooted, inst.ID)
			return nil
		},
		OnStop: func(_ context.Context, inst Instance) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.stopped = append(h.stopped, inst.ID)
			return nil
		},
		OnTerminate: func(_ context.Context, inst Instance) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.killed = append(h.killed, inst.ID)
			return nil
		},
	}
}

func (h *hookLog) counts() (launched, stopped, killed int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.launched), len(h.stopped), len(h.killed)
}

func waitState(t *testing.T, c *ec2.Client, id string, want ec2types.InstanceStateName) {
	t.Helper()
	testutil.Run(t, 10*time.Second, func(r *testutil.R) {
		if got := stateOf(t, c, id); got != want {
			r.Errorf("%s is %s, want %s", id, got, want)
		}
	})
}

func TestLifecycleRunStopTerminate(t *testing.T) {
	h := &hookLog{}
	e := startServer(t, func(c *Config) { c.Hooks = h.hooks() })
	c := sdkClient(t, e)
	ids := run(t, c, 2, map[string]string{"cluster": "c1"})
	waitState(t, c, ids[0], ec2types.InstanceStateNameRunning)
	waitState(t, c, ids[1], ec2types.InstanceStateNameRunning)
	h.mu.Lock()
	if len(h.launched) != 2 || h.launched[0].Tags["cluster"] != "c1" || h.launched[0].PrivateIP == "" {
		t.Errorf("OnLaunch got %+v", h.launched)
	}
	h.mu.Unlock()

	stop, err := c.StopInstances(ctx(t), &ec2.StopInstancesInput{InstanceIds: ids[:1]})
	if err != nil {
		t.Fatalf("StopInstances: %v", err)
	}
	ch := stop.StoppingInstances[0]
	if aws.ToString(ch.InstanceId) != ids[0] || ch.PreviousState.Name != ec2types.InstanceStateNameRunning ||
		ch.CurrentState.Name != ec2types.InstanceStateNameStopping || aws.ToInt32(ch.CurrentState.Code) != 64 {
		t.Errorf("StopInstances change = %+v -> %+v", ch.PreviousState, ch.CurrentState)
	}
	waitState(t, c, ids[0], ec2types.InstanceStateNameStopped)

	term, err := c.TerminateInstances(ctx(t), &ec2.TerminateInstancesInput{InstanceIds: ids})
	if err != nil {
		t.Fatalf("TerminateInstances: %v", err)
	}
	if len(term.TerminatingInstances) != 2 {
		t.Fatalf("TerminateInstances returned %d changes", len(term.TerminatingInstances))
	}
	for i, ch := range term.TerminatingInstances {
		wantPrev := []ec2types.InstanceStateName{ec2types.InstanceStateNameStopped, ec2types.InstanceStateNameRunning}[i]
		if aws.ToString(ch.InstanceId) != ids[i] || ch.PreviousState.Name != wantPrev ||
			ch.CurrentState.Name != ec2types.InstanceStateNameShuttingDown || aws.ToInt32(ch.CurrentState.Code) != 32 {
			t.Errorf("terminate %s: %+v -> %+v, want %s -> shutting-down", aws.ToString(ch.InstanceId), ch.PreviousState, ch.CurrentState, wantPrev)
		}
	}
	waitState(t, c, ids[0], ec2types.InstanceStateNameTerminated)
	waitState(t, c, ids[1], ec2types.InstanceStateNameTerminated)
	got := describe(t, c, &ec2.DescribeInstancesInput{InstanceIds: ids[1:]})[ids[1]]
	if aws.ToInt32(got.State.Code) != 48 || got.StateReason == nil || aws.ToString(got.StateReason.Code) != "Client.UserInitiatedShutdown" {
		t.Errorf("terminated instance: state %+v reason %+v", got.State, got.StateReason)
	}

	// Terminating again is allowed and changes nothing; stopping is not.
	again, err := c.TerminateInstances(ctx(t), &ec2.TerminateInstancesInput{InstanceIds: ids[1:]})
	if err != nil || again.TerminatingInstances[0].PreviousState.Name != ec2types.InstanceStateNameTerminated {
		t.Errorf("second terminate: %v %+v", err, again)
	}
	_, err = c.StopInstances(ctx(t), &ec2.StopInstancesInput{InstanceIds: ids[1:]})
	wantAPIError(t, err, "IncorrectInstanceState", http.StatusBadRequest)
	_, err = c.TerminateInstances(ctx(t), &ec2.TerminateInstancesInput{InstanceIds: []string{"i-0000000000000000c"}})
	wantAPIError(t, err, "InvalidInstanceID.NotFound", http.StatusBadRequest)
	_, err = c.StopInstances(ctx(t), &ec2.StopInstancesInput{InstanceIds: []string{"bogus"}})
	wantAPIError(t, err, "InvalidInstanceID.Malformed", http.StatusBadRequest)

	launched, stopped, killed := h.counts()
	if launched != 2 || stopped != 1 || killed != 1 {
		t.Errorf("hooks: %d launches, %d stops, %d terminations; want 2, 1, 1 (a stopped instance has no process to kill)", launched, stopped, killed)
	}
}

func TestTerminateDryRunChangesNothing(t *testing.T) {
	e := startServer(t, nil)
	c := sdkClient(t, e)
	ids := run(t, c, 1, nil)
	_, err := c.TerminateInstances(ctx(t), &ec2.TerminateInstancesInput{InstanceIds: ids, DryRun: aws.Bool(true)})
	wantAPIError(t, err, "DryRunOperation", http.StatusPreconditionFailed)
	if inst, _ := e.Instance(ids[0]); inst.State == StateShuttingDown || inst.State == StateTerminated {
		t.Errorf("a dry run terminated the instance: %s", inst.State)
	}
}

func TestLaunchDelayAndTerminatedTTL(t *testing.T) {
	clock := clockwork.NewFakeClock()
	h := &hookLog{}
	e := startServer(t, func(c *Config) {
		c.Clock = clock
		c.BootDelay = Delay{Min: 30 * time.Second}
		c.TerminatedTTL = 10 * time.Minute
		c.Hooks = h.hooks()
	})
	c := sdkClient(t, e)
	ids := run(t, c, 1, nil)
	if err := clock.BlockUntilContext(ctx(t), 1); err != nil {
		t.Fatal(err)
	}
	clock.Advance(29 * time.Second)
	if got := stateOf(t, c, ids[0]); got != ec2types.InstanceStateNamePending {
		t.Fatalf("before the launch delay the instance is %s", got)
	}
	if n, _, _ := h.counts(); n != 0 {
		t.Fatalf("OnLaunch ran before the launch delay")
	}
	clock.Advance(time.Second)
	waitState(t, c, ids[0], ec2types.InstanceStateNameRunning)

	if _, err := c.TerminateInstances(ctx(t), &ec2.TerminateInstancesInput{InstanceIds: ids}); err != nil {
		t.Fatal(err)
	}
	waitState(t, c, ids[0], ec2types.InstanceStateNameTerminated)
	clock.Advance(9 * time.Minute)
	if got := describe(t, c, filterInput(f("instance-state-name", "terminated"))); len(got) != 1 {
		t.Fatalf("terminated instance vanished before TerminatedTTL")
	}
	clock.Advance(time.Minute)
	_, err := c.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{InstanceIds: ids})
	wantAPIError(t, err, "InvalidInstanceID.NotFound", http.StatusBadRequest)
	if len(e.Instances()) != 0 {
		t.Errorf("Instances() still lists the vanished instance")
	}
}

func TestTerminateWhilePendingSkipsHooks(t *testing.T) {
	clock := clockwork.NewFakeClock()
	h := &hookLog{}
	e := startServer(t, func(c *Config) {
		c.Clock = clock
		c.BootDelay = Delay{Min: time.Minute}
		c.Hooks = h.hooks()
	})
	c := sdkClient(t, e)
	ids := run(t, c, 1, nil)
	term, err := c.TerminateInstances(ctx(t), &ec2.TerminateInstancesInput{InstanceIds: ids})
	if err != nil {
		t.Fatal(err)
	}
	if term.TerminatingInstances[0].PreviousState.Name != ec2types.InstanceStateNamePending {
		t.Errorf("previous state = %s, want pending", term.TerminatingInstances[0].PreviousState.Name)
	}
	waitState(t, c, ids[0], ec2types.InstanceStateNameTerminated)
	if err := clock.BlockUntilContext(ctx(t), 1); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	// The launch goroutine now wakes up, sees the instance is gone and
	// exits; Close (in cleanup) waits for it, and goleak checks it ended.
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if launched, _, killed := h.counts(); launched != 0 || killed != 0 {
		t.Errorf("hooks ran for an instance terminated while pending: %d launches, %d kills", launched, killed)
	}
	if got, _ := e.Instance(ids[0]); got.State != StateTerminated {
		t.Errorf("state = %s", got.State)
	}
}

func TestLaunchFailureTerminates(t *testing.T) {
	h := &hookLog{launchErr: errors.New("exec: farmhand: not found")}
	e := startServer(t, func(c *Config) { c.Hooks = h.hooks() })
	c := sdkClient(t, e)
	ids := run(t, c, 1, nil)
	waitState(t, c, ids[0], ec2types.InstanceStateNameTerminated)
	got := describe(t, c, &ec2.DescribeInstancesInput{InstanceIds: ids})[ids[0]]
	if got.StateReason == nil || aws.ToString(got.StateReason.Code) != "Server.InternalError" {
		t.Errorf("state reason = %+v, want Server.InternalError", got.StateReason)
	}
	if _, _, killed := h.counts(); killed != 0 {
		t.Errorf("after a failed launch: %d kills, want 0", killed)
	}
	ip := e.Instances()[0].PrivateIP
	if _, err := runAt(t, c, ip); err != nil {
		t.Errorf("the address %s of the instance whose launch failed did not return to the pool: %v", ip, err)
	}
}

func TestThrottle(t *testing.T) {
	e := startServer(t, nil)
	c := sdkClient(t, e)
	e.SetThrottle(true)
	_, err := c.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{})
	wantAPIError(t, err, "RequestLimitExceeded", http.StatusServiceUnavailable)
	if retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) != aws.TrueTernary {
		t.Errorf("the SDK does not see %v as throttling", err)
	}

	// The standard retryer retries it (here without backoff, to stay fast).
	retrying := sdkClient(t, e, func(o *ec2.Options) {
		o.RetryMaxAttempts = 0 // let the retryer below decide
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = 3
			so.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
		})
	})
	e.ResetCounters()
	_, err = retrying.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{})
	wantAPIError(t, err, "RequestLimitExceeded", http.StatusServiceUnavailable)
	if n := e.CallCount("DescribeInstances"); n != 3 {
		t.Errorf("DescribeInstances calls while throttled = %d, want 3 attempts", n)
	}
	if n := e.Errors()["RequestLimitExceeded"]; n != 3 {
		t.Errorf("RequestLimitExceeded errors = %d, want 3", n)
	}

	e.SetThrottle(false)
	if _, err := retrying.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{}); err != nil {
		t.Errorf("after SetThrottle(false): %v", err)
	}
}

func TestSetState(t *testing.T) {
	clock := clockwork.NewFakeClock()
	e := startServer(t, func(c *Config) { c.Clock = clock; c.TerminatedTTL = time.Minute })
	c := sdkClient(t, e)
	ids := run(t, c, 1, nil)
	if err := e.SetState(ids[0], StateStopped); err != nil {
		t.Fatal(err)
	}
	if got := stateOf(t, c, ids[0]); got != ec2types.InstanceStateNameStopped {
		t.Errorf("after SetState(stopped): %s", got)
	}
	if err := e.SetState(ids[0], StateTerminated); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	if _, ok := e.Instance(ids[0]); ok {
		t.Error("an instance set terminated did not vanish after TerminatedTTL")
	}
	if err := e.SetState(ids[0], StateRunning); err == nil {
		t.Error("SetState of a vanished instance succeeded")
	}
	if err := e.SetState(run(t, c, 1, nil)[0], State("exploded")); err == nil {
		t.Error("SetState accepted an unknown state")
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for name, mut := range map[string]func(*Config){
		"no region":       func(c *Config) { c.Region = "" },
		"no subnets":      func(c *Config) { c.Subnets = nil },
		"zoneless subnet": func(c *Config) { c.Subnets = []Subnet{{ID: "subnet-0a0000000000000a1"}} },
	} {
		cfg := DefaultConfig()
		mut(&cfg)
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New accepted the config", name)
		}
	}
}

func TestGlob(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"abc", "abc", true}, {"abc", "abd", false}, {"a*", "abc", true}, {"*c", "abc", true},
		{"a*c", "abbbc", true}, {"a?c", "abc", true}, {"a?c", "ac", false}, {"*", "", true},
		{"a*b*c", "axxbyyc", true}, {"a*b*c", "axxbyy", false}, {"", "", true}, {"", "a", false},
	} {
		if got := glob(tc.pattern, tc.s); got != tc.want {
			t.Errorf("glob(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}

func TestTerminateWaitsForRunningLaunchHook(t *testing.T) {
	inLaunch, release := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	var order []string
	e := startServer(t, func(c *Config) {
		c.Hooks.OnLaunch = func(ctx context.Context, inst Instance) error {
			close(inLaunch)
			select {
			case <-release:
			case <-ctx.Done():
			}
			mu.Lock()
			defer mu.Unlock()
			order = append(order, "launched")
			return nil
		}
		c.Hooks.OnTerminate = func(_ context.Context, inst Instance) error {
			mu.Lock()
			defer mu.Unlock()
			order = append(order, "terminated")
			return nil
		}
	})
	c := sdkClient(t, e)
	ids := run(t, c, 1, nil)
	<-inLaunch
	term, err := c.TerminateInstances(ctx(t), &ec2.TerminateInstancesInput{InstanceIds: ids})
	if err != nil {
		t.Fatal(err)
	}
	if term.TerminatingInstances[0].CurrentState.Name != ec2types.InstanceStateNameShuttingDown {
		t.Errorf("terminate during OnLaunch: %+v", term.TerminatingInstances[0].CurrentState)
	}
	if got := stateOf(t, c, ids[0]); got != ec2types.InstanceStateNameShuttingDown {
		t.Errorf("while OnLaunch runs the instance is %s, want shutting-down", got)
	}
	close(release)
	waitState(t, c, ids[0], ec2types.InstanceStateNameTerminated)
	mu.Lock()
	defer mu.Unlock()
	if len(order) != 2 || order[0] != "launched" || order[1] != "terminated" {
		t.Errorf("hook order = %v, want OnLaunch to finish before OnTerminate", order)
	}
}

func TestStopAndTerminateInstanceWait(t *testing.T) {
	h := &hookLog{}
	e := startServer(t, func(c *Config) { c.Hooks = h.hooks() })
	c := sdkClient(t, e)
	ids := run(t, c, 2, nil)
	waitState(t, c, ids[0], ec2types.InstanceStateNameRunning)
	waitState(t, c, ids[1], ec2types.InstanceStateNameRunning)

	if err := e.StopInstance(ctx(t), ids[0]); err != nil {
		t.Fatalf("StopInstance: %v", err)
	}
	if inst, _ := e.Instance(ids[0]); inst.State != StateStopped {
		t.Errorf("after StopInstance returned the instance is %s", inst.State)
	}
	if err := e.StopInstance(ctx(t), ids[0]); err != nil {
		t.Errorf("stopping a stopped instance: %v", err)
	}
	if err := e.TerminateInstance(ctx(t), ids[1]); err != nil {
		t.Fatalf("TerminateInstance: %v", err)
	}
	if inst, _ := e.Instance(ids[1]); inst.State != StateTerminated {
		t.Errorf("after TerminateInstance returned the instance is %s", inst.State)
	}
	if _, stopped, killed := h.counts(); stopped != 1 || killed != 1 {
		t.Errorf("hooks: %d stops, %d terminations; want 1 each", stopped, killed)
	}
	if err := e.StopInstance(ctx(t), ids[1]); err == nil || !strings.Contains(err.Error(), "IncorrectInstanceState") {
		t.Errorf("stopping a terminated instance: %v", err)
	}
	if err := e.StopInstance(ctx(t), "i-0000000000000000d"); err == nil || !strings.Contains(err.Error(), "InvalidInstanceID.NotFound") {
		t.Errorf("stopping an unknown instance: %v", err)
	}
	if n := e.CallCount("StopInstances") + e.CallCount("TerminateInstances"); n != 0 {
		t.Errorf("the Go methods went through HTTP: %d calls", n)
	}
}

func TestStopInstanceHonoursContext(t *testing.T) {
	release := make(chan struct{})
	e := startServer(t, func(c *Config) {
		c.Hooks.OnStop = blockUntil(release)
	})
	defer close(release)
	c := sdkClient(t, e)
	ids := run(t, c, 1, nil)
	waitState(t, c, ids[0], ec2types.InstanceStateNameRunning)
	short, cancel := context.WithCancel(ctx(t))
	cancel()
	if err := e.StopInstance(short, ids[0]); !errors.Is(err, context.Canceled) {
		t.Errorf("StopInstance with a cancelled context: %v", err)
	}
	if inst, _ := e.Instance(ids[0]); inst.State != StateStopping {
		t.Errorf("while OnStop blocks the instance is %s, want stopping", inst.State)
	}
}

func TestStart(t *testing.T) {
	e, err := Start("", DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if !strings.HasPrefix(e.URL(), "http://127.0.0.1:") {
		t.Errorf("URL() = %q", e.URL())
	}
	if err := e.Listen(""); err == nil {
		t.Error("a second Listen succeeded")
	}
	if _, err := Start("", Config{}); err == nil {
		t.Error("Start accepted an empty config")
	}
}
