package ec2emu

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"github.com/jonboulle/clockwork"

	"github.com/farmhand/farmhand/testbed/testutil"
)

func wantMessage(t *testing.T, err error, want string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorMessage() != want {
		t.Errorf("error %v, want message %q", err, want)
	}
}

// Stop, start and reboot through the SDK: EC2's states, transitions and
// reasons; a stopped instance keeps its id and address and boots again
// through OnStart; a reboot runs OnReboot and stays running.
func TestStopStartReboot(t *testing.T) {
	clock := clockwork.NewFakeClockAt(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	h := &hookLog{}
	e := startServer(t, func(c *Config) { c.Hooks = h.hooks(); c.Clock = clock })
	c := sdkClient(t, e)
	id := run(t, c, 1, nil)[0]
	waitState(t, c, id, ec2types.InstanceStateNameRunning)
	before := describe(t, c, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})[id]
	if before.StateReason != nil || aws.ToString(before.StateTransitionReason) != "" {
		t.Errorf("a running instance has reasons %+v %q", before.StateReason, aws.ToString(before.StateTransitionReason))
	}

	stop, err := c.StopInstances(ctx(t), &ec2.StopInstancesInput{InstanceIds: []string{id}, Force: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if ch := stop.StoppingInstances[0]; ch.PreviousState.Name != "running" || ch.CurrentState.Name != "stopping" || aws.ToInt32(ch.CurrentState.Code) != 64 {
		t.Errorf("stop: %+v -> %+v", ch.PreviousState, ch.CurrentState)
	}
	waitState(t, c, id, ec2types.InstanceStateNameStopped)
	stopped := describe(t, c, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})[id]
	if aws.ToInt32(stopped.State.Code) != 80 || aws.ToString(stopped.PrivateIpAddress) != aws.ToString(before.PrivateIpAddress) ||
		stopped.StateReason == nil || aws.ToString(stopped.StateReason.Code) != "Client.UserInitiatedShutdown" ||
		aws.ToString(stopped.StateReason.Message) != "Client.UserInitiatedShutdown: User initiated shutdown" ||
		aws.ToString(stopped.StateTransitionReason) != "User initiated (2026-03-01 12:00:00 GMT)" {
		t.Errorf("stopped: state %+v ip %s reason %+v transition %q", stopped.State, aws.ToString(stopped.PrivateIpAddress),
			stopped.StateReason, aws.ToString(stopped.StateTransitionReason))
	}
	again, err := c.StopInstances(ctx(t), &ec2.StopInstancesInput{InstanceIds: []string{id}})
	if err != nil || again.StoppingInstances[0].PreviousState.Name != "stopped" || again.StoppingInstances[0].CurrentState.Name != "stopped" {
		t.Errorf("stopping a stopped instance: %v %+v", err, again)
	}
	_, err = c.RebootInstances(ctx(t), &ec2.RebootInstancesInput{InstanceIds: []string{id}})
	wantAPIError(t, err, "IncorrectInstanceState", http.StatusBadRequest)
	wantMessage(t, err, "The instance '"+id+"' is not in a state from which it can be rebooted.")
	_, err = c.StartInstances(ctx(t), &ec2.StartInstancesInput{InstanceIds: []string{id}, DryRun: aws.Bool(true)})
	wantAPIError(t, err, "DryRunOperation", http.StatusPreconditionFailed)
	if got := stateOf(t, c, id); got != ec2types.InstanceStateNameStopped {
		t.Fatalf("a dry-run start left it %s", got)
	}

	clock.Advance(time.Hour)
	start, err := c.StartInstances(ctx(t), &ec2.StartInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	if ch := start.StartingInstances[0]; aws.ToString(ch.InstanceId) != id || ch.PreviousState.Name != "stopped" ||
		aws.ToInt32(ch.PreviousState.Code) != 80 || ch.CurrentState.Name != "pending" || aws.ToInt32(ch.CurrentState.Code) != 0 {
		t.Errorf("start: %+v -> %+v", ch.PreviousState, ch.CurrentState)
	}
	waitState(t, c, id, ec2types.InstanceStateNameRunning)
	after := describe(t, c, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})[id]
	if aws.ToString(after.PrivateIpAddress) != aws.ToString(before.PrivateIpAddress) || after.StateReason != nil ||
		aws.ToString(after.StateTransitionReason) != "" || !after.LaunchTime.Equal(clock.Now()) {
		t.Errorf("started again: ip %s (was %s), reason %+v %q, launch time %v (want %v)", aws.ToString(after.PrivateIpAddress),
			aws.ToString(before.PrivateIpAddress), after.StateReason, aws.ToString(after.StateTransitionReason), after.LaunchTime, clock.Now())
	}
	running, err := c.StartInstances(ctx(t), &ec2.StartInstancesInput{InstanceIds: []string{id}})
	if err != nil || running.StartingInstances[0].PreviousState.Name != "running" || running.StartingInstances[0].CurrentState.Name != "running" {
		t.Errorf("starting a running instance: %v %+v", err, running)
	}

	if _, err := c.RebootInstances(ctx(t), &ec2.RebootInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatalf("RebootInstances: %v", err)
	}
	testutil.Run(t, 10*time.Second, func(r *testutil.R) {
		h.mu.Lock()
		defer h.mu.Unlock()
		if len(h.rebooted) != 1 {
			r.Errorf("OnReboot not called yet")
		}
	})
	if got := stateOf(t, c, id); got != ec2types.InstanceStateNameRunning {
		t.Errorf("after a reboot the instance is %s", got)
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.launched) != 1 || len(h.started) != 1 || len(h.stopped) != 1 || len(h.rebooted) != 1 {
		t.Errorf("hooks: %d launches, %d starts, %d stops, %d reboots; want 1 each", len(h.launched), len(h.started), len(h.stopped), len(h.rebooted))
	} else if h.started[0].ID != id || h.started[0].PrivateIP != aws.ToString(before.PrivateIpAddress) {
		t.Errorf("OnStart got %s at %s, want the same instance and address", h.started[0].ID, h.started[0].PrivateIP)
	}
}

func TestStateChangeErrors(t *testing.T) {
	clock := clockwork.NewFakeClock()
	e := startServer(t, func(c *Config) { c.Clock = clock; c.BootDelay = Delay{Min: time.Minute} })
	c := sdkClient(t, e)
	ids := run(t, c, 2, nil)

	_, err := c.StopInstances(ctx(t), &ec2.StopInstancesInput{InstanceIds: ids[:1]})
	wantAPIError(t, err, "IncorrectInstanceState", http.StatusBadRequest)
	wantMessage(t, err, "Instance '"+ids[0]+"' cannot be stopped as it has never reached the 'running' state.")
	_, err = c.RebootInstances(ctx(t), &ec2.RebootInstancesInput{InstanceIds: ids[:1]})
	wantAPIError(t, err, "IncorrectInstanceState", http.StatusBadRequest)

	if err := e.SetState(ids[0], StateRunning); err != nil {
		t.Fatal(err)
	}
	_, err = c.StopInstances(ctx(t), &ec2.StopInstancesInput{InstanceIds: ids[:1], Hibernate: aws.Bool(true)})
	wantAPIError(t, err, "UnsupportedHibernationConfiguration", http.StatusBadRequest)
	_, err = c.RebootInstances(ctx(t), &ec2.RebootInstancesInput{InstanceIds: ids[:1], DryRun: aws.Bool(true)})
	wantAPIError(t, err, "DryRunOperation", http.StatusPreconditionFailed)

	if err := e.TerminateInstance(ctx(t), ids[0]); err != nil {
		t.Fatal(err)
	}
	_, err = c.StartInstances(ctx(t), &ec2.StartInstancesInput{InstanceIds: ids[:1]})
	wantAPIError(t, err, "IncorrectInstanceState", http.StatusBadRequest)
	wantMessage(t, err, "The instance '"+ids[0]+"' is not in a state from which it can be started.")
	_, err = c.StopInstances(ctx(t), &ec2.StopInstancesInput{InstanceIds: ids[:1]})
	wantMessage(t, err, "The instance '"+ids[0]+"' is not in a state from which it can be stopped.")
	// One bad instance fails the whole call, as on EC2.
	_, err = c.StartInstances(ctx(t), &ec2.StartInstancesInput{InstanceIds: ids})
	wantAPIError(t, err, "IncorrectInstanceState", http.StatusBadRequest)
	_, err = c.StartInstances(ctx(t), &ec2.StartInstancesInput{InstanceIds: []string{"i-0000000000000000e"}})
	wantAPIError(t, err, "InvalidInstanceID.NotFound", http.StatusBadRequest)
	_, err = c.RebootInstances(ctx(t), &ec2.RebootInstancesInput{InstanceIds: []string{"web-1"}})
	wantAPIError(t, err, "InvalidInstanceID.Malformed", http.StatusBadRequest)
}

// A start whose boot fails leaves the instance stopped, with
// Server.InternalError, not terminated: its disks are still there.
func TestStartFailureStopsAgain(t *testing.T) {
	h := &hookLog{startErr: errors.New("agent did not come up")}
	e := startServer(t, func(c *Config) { c.Hooks = h.hooks() })
	c := sdkClient(t, e)
	id := run(t, c, 1, nil)[0]
	waitState(t, c, id, ec2types.InstanceStateNameRunning)
	stopStart(t, e, id)
	got := describe(t, c, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})[id]
	if got.State.Name != ec2types.InstanceStateNameStopped || got.StateReason == nil || aws.ToString(got.StateReason.Code) != "Server.InternalError" {
		t.Errorf("after a failed start: %s, reason %+v; want stopped, Server.InternalError", got.State.Name, got.StateReason)
	}
	if got.PrivateIpAddress == nil {
		t.Error("a failed start lost the address")
	}
}

// The Go methods wait: StartInstance until the boot is done, RebootInstance
// until OnReboot has returned.
func TestStartAndRebootInstanceWait(t *testing.T) {
	rebooting := make(chan struct{})
	e := startServer(t, func(c *Config) {
		c.Hooks.OnReboot = blockUntil(rebooting)
	})
	c := sdkClient(t, e)
	id := run(t, c, 1, nil)[0]
	waitState(t, c, id, ec2types.InstanceStateNameRunning)
	stopStart(t, e, id)
	if in, _ := e.Instance(id); in.State != StateRunning {
		t.Errorf("after StartInstance returned the instance is %s", in.State)
	}
	short, cancel := context.WithTimeout(ctx(t), 50*time.Millisecond)
	defer cancel()
	if err := e.RebootInstance(short, id); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("RebootInstance returned %v while OnReboot blocks", err)
	}
	close(rebooting)
	if err := e.RebootInstance(ctx(t), id); err != nil {
		t.Errorf("second reboot: %v", err)
	}
	if err := e.StartInstance(ctx(t), "i-0000000000000000f"); err == nil || !strings.Contains(err.Error(), "InvalidInstanceID.NotFound") {
		t.Errorf("StartInstance of an unknown id: %v", err)
	}
	if n := e.CallCount("StartInstances") + e.CallCount("RebootInstances"); n != 0 {
		t.Errorf("the Go methods went through HTTP: %d calls", n)
	}
}
