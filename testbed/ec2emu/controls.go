package ec2emu

import (
	"fmt"
	"sort"
	"time"
)

// SetThrottle makes every request (while on) fail with HTTP 503 and code
// RequestLimitExceeded, which the SDK retryer treats as throttling.
func (e *Emulator) SetThrottle(on bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.throttle = on
}

// SetLaunchDelay sets how long later launches stay pending before OnLaunch.
func (e *Emulator) SetLaunchDelay(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.launchDelay = d
}

// SetImpaired makes DescribeInstanceStatus report the instance's instance
// and system status impaired (or ok again) while it runs.
func (e *Emulator) SetImpaired(id string, impaired bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	in := e.instances[id]
	if in == nil {
		return fmt.Errorf("ec2emu: SetImpaired: no instance %q (see Instances())", id)
	}
	in.Impaired = impaired
	return nil
}

// SetState forces an instance into state, for chaos: no hook runs and no
// process is touched; the caller does that. Setting terminated starts the
// TerminatedTTL clock.
func (e *Emulator) SetState(id string, state State) error {
	if state.Code() < 0 {
		return fmt.Errorf("ec2emu: SetState: unknown state %q (want pending, running, shutting-down, terminated, stopping or stopped)", state)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	in := e.instances[id]
	if in == nil {
		return fmt.Errorf("ec2emu: SetState: no instance %q (see Instances())", id)
	}
	in.State = state
	in.TerminatedAt = time.Time{}
	if state == StateTerminated {
		in.TerminatedAt = e.clock.Now()
	}
	return nil
}

// Instances returns a snapshot of every visible instance (terminated ones
// until TerminatedTTL has passed), oldest first.
func (e *Emulator) Instances() []Instance {
	e.reap()
	e.mu.Lock()
	defer e.mu.Unlock()
	ins := make([]*instance, 0, len(e.instances))
	for _, in := range e.instances {
		ins = append(ins, in)
	}
	sort.Slice(ins, func(i, j int) bool { return ins[i].seq < ins[j].seq })
	out := make([]Instance, len(ins))
	for i, in := range ins {
		out[i] = in.snapshotLocked()
	}
	return out
}

// Instance returns a snapshot of one instance.
func (e *Emulator) Instance(id string) (Instance, bool) {
	e.reap()
	e.mu.Lock()
	defer e.mu.Unlock()
	in := e.instances[id]
	if in == nil {
		return Instance{}, false
	}
	return in.snapshotLocked(), true
}

// Calls returns how many requests each Action received, counting failed
// and throttled ones; unknown or missing actions count too (under their
// name, or "").
func (e *Emulator) Calls() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]int, len(e.calls))
	for k, v := range e.calls {
		out[k] = v
	}
	return out
}

// CallCount returns how many requests action received.
func (e *Emulator) CallCount(action string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.calls[action]
}

// Errors returns how many error responses were sent, by error code
// (e.g. "RequestLimitExceeded").
func (e *Emulator) Errors() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]int, len(e.errs))
	for k, v := range e.errs {
		out[k] = v
	}
	return out
}

// ResetCounters zeroes Calls and Errors.
func (e *Emulator) ResetCounters() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls = map[string]int{}
	e.errs = map[string]int{}
}
