package ec2emu

// launch takes a new instance from pending to running: it waits out the
// launch delay, then calls OnLaunch. It runs in a goroutine owned by s.
func (s *Server) launch(in *instance) {
	s.mu.Lock()
	delay := s.launchDelay
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-s.clock.After(delay):
		case <-s.ctx.Done():
			return
		}
	}

	in.hookMu.Lock()
	defer in.hookMu.Unlock()
	s.mu.Lock()
	if in.State != StatePending {
		s.mu.Unlock()
		return // stopped or terminated before it started
	}
	snap := in.snapshotLocked()
	s.mu.Unlock()

	var err error
	if s.cfg.Hooks.OnLaunch != nil {
		err = s.cfg.Hooks.OnLaunch(s.ctx, snap)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case err != nil:
		s.log.Error("launch hook failed; instance terminated", "id", in.ID, "error", err)
		in.State = StateTerminated
		in.StateReason = "Server.InternalError: Internal error on launch"
		in.TerminatedAt = s.clock.Now()
		s.releaseLocked(in)
	default:
		in.launched = true
		if in.State == StatePending {
			in.State = StateRunning
		}
		s.log.Info("instance running", "id", in.ID, "ip", in.PrivateIP)
	}
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
