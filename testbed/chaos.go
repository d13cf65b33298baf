package testbed

import (
	"context"
	"fmt"
	"syscall"
	"time"
)

// Crash kills the machine: the agent gets SIGKILL and EC2 reports the
// instance's status checks as impaired.
func (tb *Testbed) Crash(id string) error {
	in, err := tb.instance(id)
	if err != nil {
		return err
	}
	in.stopProcess(stopKill)
	if err := tb.ec2.SetImpaired(id, true); err != nil {
		return err
	}
	tb.logger.Info("crashed", "id", id)
	return tb.saveState()
}

// KillAgent kills only the agent; EC2 still says the machine is healthy.
func (tb *Testbed) KillAgent(id string) error {
	in, err := tb.instance(id)
	if err != nil {
		return err
	}
	in.stopProcess(stopKill)
	tb.logger.Info("agent killed", "id", id)
	return tb.saveState()
}

// Stop stops the instance as StopInstances does, as a user would: its
// agent stops gracefully; it keeps its id, address and data directory.
// It returns once the instance is stopped.
func (tb *Testbed) Stop(ctx context.Context, id string) error {
	if _, err := tb.instance(id); err != nil {
		return err
	}
	return tb.ec2.StopInstance(ctx, id)
}

// Start starts a stopped instance as StartInstances does: after the boot
// delay its agent runs again, with the same id, address and data
// directory. It returns once the instance has booted.
func (tb *Testbed) Start(ctx context.Context, id string) error {
	if _, err := tb.instance(id); err != nil {
		return err
	}
	return tb.ec2.StartInstance(ctx, id)
}

// Reboot reboots the instance as RebootInstances does: its agent stops
// gracefully and starts again; EC2 says running throughout. It returns
// once the agent has been started again.
func (tb *Testbed) Reboot(ctx context.Context, id string) error {
	if _, err := tb.instance(id); err != nil {
		return err
	}
	return tb.ec2.RebootInstance(ctx, id)
}

// Interrupt posts a Spot Instance interruption notice: IMDS's
// spot/instance-action says action (terminate, stop or hibernate; "" for
// the instance's interruption behaviour) at now + notice, and EC2 carries
// it out then (the agent stops gracefully, as in a shutdown). It returns
// the time the action falls due.
func (tb *Testbed) Interrupt(id, action string, notice time.Duration) (time.Time, error) {
	if _, err := tb.instance(id); err != nil {
		return time.Time{}, err
	}
	due, err := tb.ec2.Interrupt(id, action, notice)
	if err != nil {
		return time.Time{}, err
	}
	tb.logger.Info("spot interruption notice posted", "id", id, "at", due.UTC().Format(time.RFC3339))
	return due, tb.saveState()
}

// Rebalance posts a rebalance recommendation for a Spot Instance: IMDS's
// events/recommendations/rebalance answers from now on.
func (tb *Testbed) Rebalance(id string) error {
	if _, err := tb.instance(id); err != nil {
		return err
	}
	if _, err := tb.ec2.Rebalance(id); err != nil {
		return err
	}
	tb.logger.Info("rebalance recommendation posted", "id", id)
	return tb.saveState()
}

// AutoScalingTerminate terminates an instance of an Auto Scaling group as
// the group does behind a lifecycle hook: IMDS's
// autoscaling/target-lifecycle-state says Terminated at once, and the
// instance is terminated when hookTimeout is up (its agent stops
// gracefully). It returns the time the termination falls due.
func (tb *Testbed) AutoScalingTerminate(id string, hookTimeout time.Duration) (time.Time, error) {
	if _, err := tb.instance(id); err != nil {
		return time.Time{}, err
	}
	due, err := tb.ec2.AutoScalingTerminate(id, hookTimeout)
	if err != nil {
		return time.Time{}, err
	}
	tb.logger.Info("auto scaling termination posted", "id", id, "at", due.UTC().Format(time.RFC3339))
	return due, tb.saveState()
}

// Pause freezes the agent (SIGSTOP); Resume thaws it (SIGCONT).
func (tb *Testbed) Pause(id string) error { return tb.signal(id, syscall.SIGSTOP, agentPaused) }

// Resume thaws an agent frozen by Pause.
func (tb *Testbed) Resume(id string) error { return tb.signal(id, syscall.SIGCONT, agentRunning) }

func (tb *Testbed) signal(id string, sig syscall.Signal, next string) error {
	in, err := tb.instance(id)
	if err != nil {
		return err
	}
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if in.cmd == nil || (in.agent != agentRunning && in.agent != agentPaused) {
		return fmt.Errorf("instance %s: its agent is %s, not running", id, in.agent)
	}
	if err := in.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("instance %s: %w", id, err)
	}
	in.agent = next
	return tb.saveStateLocked()
}

// Partition cuts every instance of a off from every instance of b (both
// ways) with nftables drop rules inside their namespaces. Netns mode only.
func (tb *Testbed) Partition(ctx context.Context, a, b []string) error {
	if !tb.cfg.Netns {
		return fmt.Errorf("partition needs a testbed started with -netns (as root): loopback addresses cannot be cut apart")
	}
	if err := CanPartition(); err != nil {
		return err
	}
	ipsA, nsA, err := tb.addrs(a)
	if err != nil {
		return err
	}
	ipsB, nsB, err := tb.addrs(b)
	if err != nil {
		return err
	}
	for _, ns := range nsA {
		if err := blockPeers(ctx, ns, ipsB); err != nil {
			return err
		}
	}
	for _, ns := range nsB {
		if err := blockPeers(ctx, ns, ipsA); err != nil {
			return err
		}
	}
	tb.logger.Info("partitioned", "a", a, "b", b)
	return nil
}

// Heal removes every partition rule.
func (tb *Testbed) Heal(ctx context.Context) error {
	if !tb.cfg.Netns {
		return fmt.Errorf("heal needs a testbed started with -netns (as root)")
	}
	for _, ns := range tb.namespaces() {
		unblock(ctx, ns)
	}
	tb.logger.Info("healed")
	return nil
}

// SetS3Down makes the embedded S3 answer 503 SlowDown to everything.
func (tb *Testbed) SetS3Down(down bool) error {
	if tb.s3 == nil {
		return fmt.Errorf("s3 down/up needs the embedded S3; this testbed uses %s", tb.s3URL)
	}
	tb.s3.SetDown(down)
	tb.logger.Info("S3", "down", down)
	return nil
}

// SetEC2Throttle makes every EC2 call fail with RequestLimitExceeded.
func (tb *Testbed) SetEC2Throttle(on bool) {
	tb.ec2.SetThrottle(on)
	tb.logger.Info("EC2 throttling", "on", on)
}

func (tb *Testbed) instance(id string) (*instance, error) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	in := tb.instances[id]
	if in == nil {
		return nil, fmt.Errorf("no instance %q in this testbed", id)
	}
	return in, nil
}

func (tb *Testbed) addrs(ids []string) (ips, nss []string, err error) {
	for _, id := range ids {
		in, err := tb.instance(id)
		if err != nil {
			return nil, nil, err
		}
		ips = append(ips, in.ip)
		nss = append(nss, in.netns)
	}
	return ips, nss, nil
}

// namespaces are the network namespaces of the instances that have one.
func (tb *Testbed) namespaces() []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	var nss []string
	for _, in := range tb.instances {
		if in.netns != "" {
			nss = append(nss, in.netns)
		}
	}
	return nss
}
