package ec2emu

import "time"

// bootLocked starts the goroutine that takes a pending instance to
// running: after the boot delay it calls OnLaunch (the first boot) or
// OnStart (a start after a stop). in.settled is closed once it is done.
func (s *Server) bootLocked(in *instance) {
	done := make(chan struct{})
	in.settled = done
	restart := in.booted
	in.BootDelay = s.bootDelay.pick()
	delay := in.BootDelay
	if !s.goLocked(func() { s.boot(in, restart, delay, done) }) {
		close(done)
	}
}

// boot runs in a goroutine owned by s; see bootLocked.
func (s *Server) boot(in *instance, restart bool, delay time.Duration, done chan struct{}) {
	defer close(done)
	if !s.wait(delay) {
		return
	}

	in.hookMu.Lock()
	defer in.hookMu.Unlock()
	s.mu.Lock()
	if in.State != StatePending {
		s.mu.Unlock()
		return // terminated before it booted
	}
	snap := in.snapshotLocked()
	s.mu.Unlock()

	hook := s.cfg.Hooks.OnLaunch
	if restart && s.cfg.Hooks.OnStart != nil {
		hook = s.cfg.Hooks.OnStart
	}
	var err error
	if hook != nil {
		err = hook(s.ctx, snap)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case err != nil && restart:
		// A start that fails leaves the instance stopped, as EC2 does
		// when it cannot start it.
		s.log.Error("start hook failed; instance stopped", "id", in.ID, "error", err)
		in.State = StateStopped
		in.StateReason, in.StateTransitionReason = internalErrorReason.state, internalErrorReason.transition
	case err != nil:
		s.log.Error("launch hook failed; instance terminated", "id", in.ID, "error", err)
		in.State = StateTerminated
		in.StateReason, in.StateTransitionReason = internalErrorReason.state, internalErrorReason.transition
		in.TerminatedAt = s.clock.Now()
		s.releaseLocked(in)
	default:
		in.launched = true
		in.booted = true
		if in.State == StatePending {
			in.State = StateRunning
		}
		s.log.Info("instance running", "id", in.ID, "ip", in.PrivateIP)
	}
}

// reboot calls OnReboot for a launched, running instance and closes done.
// It runs in a goroutine owned by s.
func (s *Server) reboot(in *instance, done chan struct{}) {
	defer close(done)
	in.hookMu.Lock()
	defer in.hookMu.Unlock()
	s.mu.Lock()
	up := in.launched && in.State == StateRunning
	snap := in.snapshotLocked()
	s.mu.Unlock()
	if !up || s.cfg.Hooks.OnReboot == nil {
		return
	}
	if err := s.cfg.Hooks.OnReboot(s.ctx, snap); err != nil {
		s.log.Error("reboot hook failed", "id", in.ID, "error", err)
		return
	}
	s.log.Info("instance rebooted", "id", in.ID)
}

// finish completes a stop (stopping -> stopped) or a termination
// (shutting-down -> terminated), calling OnStop or OnTerminate first when
// the instance was launched, then closes done. It runs in a goroutine owned
// by s.
func (s *Server) finish(in *instance, terminate bool, done chan struct{}) {
	defer close(done)
	in.hookMu.Lock()
	defer in.hookMu.Unlock()
	s.mu.Lock()
	launched := in.launched
	in.launched = false
	snap := in.snapshotLocked()
	s.mu.Unlock()

	hook, from, to := s.cfg.Hooks.OnStop, StateStopping, StateStopped
	if terminate {
		hook, from, to = s.cfg.Hooks.OnTerminate, StateShuttingDown, StateTerminated
	}
	if launched && hook != nil {
		if err := hook(s.ctx, snap); err != nil {
			s.log.Error("instance hook failed", "id", in.ID, "to", to, "error", err)
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if in.State == from {
		in.State = to
		if to == StateTerminated {
			in.TerminatedAt = s.clock.Now()
			s.releaseLocked(in)
		}
		s.log.Info("instance "+string(to), "id", in.ID)
	}
}

// reap removes terminated instances older than TerminatedTTL (their
// addresses went back to the pool when they were terminated).
func (s *Server) reap() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	for id, in := range s.instances {
		if in.State == StateTerminated && !in.TerminatedAt.IsZero() && now.Sub(in.TerminatedAt) >= s.cfg.TerminatedTTL {
			s.releaseLocked(in) // already released unless set terminated oddly
			delete(s.instances, id)
			s.log.Debug("terminated instance vanished", "id", id)
		}
	}
}
