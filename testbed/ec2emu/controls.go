package ec2emu

import (
	"fmt"
	"sort"
	"time"
)

// SetThrottle makes every request (while on) fail with HTTP 503 and code
// RequestLimitExceeded, which the SDK retryer treats as throttling.
func (s *Server) SetThrottle(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle = on
}

// SetBootDelay sets how long later boots stay pending before OnLaunch or
// OnStart.
func (s *Server) SetBootDelay(d Delay) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bootDelay = d
}

// SetLaunchDelay sets a fixed boot delay d (SetBootDelay of d to d).
func (s *Server) SetLaunchDelay(d time.Duration) { s.SetBootDelay(Delay{Min: d, Max: d}) }

// SetImpaired makes DescribeInstanceStatus report the instance's instance
// and system status impaired (or ok again) while it runs.
func (s *Server) SetImpaired(id string, impaired bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.instances[id]
	if in == nil {
		return fmt.Errorf("ec2emu: SetImpaired: no instance %q (see Instances())", id)
	}
	in.Impaired = impaired
	return nil
}

// SetState forces an instance into state, for chaos: no hook runs and no
// process is touched; the caller does that. Setting terminated starts the
// TerminatedTTL clock and returns the address to the pool; setting a
// terminated instance to another state takes its address back, which
// fails if another instance has it now.
func (s *Server) SetState(id string, state State) error {
	if state.Code() < 0 {
		return fmt.Errorf("ec2emu: SetState: unknown state %q (want pending, running, shutting-down, terminated, stopping or stopped)", state)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.instances[id]
	if in == nil {
		return fmt.Errorf("ec2emu: SetState: no instance %q (see Instances())", id)
	}
	if state != StateTerminated && !in.holdsIP {
		if aerr := s.pools[in.SubnetID].claim(in.PrivateIP, in.ID); aerr != nil {
			return fmt.Errorf("ec2emu: SetState %s %s: its address: %s (%s)", id, state, aerr.message, aerr.code)
		}
		in.holdsIP = true
	}
	in.State = state
	in.TerminatedAt = time.Time{}
	if state == StateTerminated {
		in.TerminatedAt = s.clock.Now()
		s.releaseLocked(in)
	}
	return nil
}

// Instances returns a snapshot of every visible instance (terminated ones
// until TerminatedTTL has passed), oldest first.
func (s *Server) Instances() []Instance {
	s.reap()
	s.mu.Lock()
	defer s.mu.Unlock()
	ins := make([]*instance, 0, len(s.instances))
	for _, in := range s.instances {
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
func (s *Server) Instance(id string) (Instance, bool) {
	s.reap()
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.instances[id]
	if in == nil {
		return Instance{}, false
	}
	return in.snapshotLocked(), true
}

// Calls returns how many requests each Action received, counting failed
// and throttled ones; unknown or missing actions count too (under their
// name, or "").
func (s *Server) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.calls))
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

// CallCount returns how many requests action received.
func (s *Server) CallCount(action string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[action]
}

// Errors returns how many error responses were sent, by error code
// (e.g. "RequestLimitExceeded").
func (s *Server) Errors() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.errs))
	for k, v := range s.errs {
		out[k] = v
	}
	return out
}

// ResetCounters zeroes Calls and Errors.
func (s *Server) ResetCounters() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = map[string]int{}
	s.errs = map[string]int{}
}
