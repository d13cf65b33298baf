package ec2emu

// launch takes a new instance from pending to running: it waits out the
// launch delay, then calls OnLaunch. It runs in a goroutine owned by e.
func (e *Emulator) launch(in *instance) {
	e.mu.Lock()
	delay := e.launchDelay
	e.mu.Unlock()
	if delay > 0 {
		select {
		case <-e.clock.After(delay):
		case <-e.ctx.Done():
			return
		}
	}

	in.hookMu.Lock()
	defer in.hookMu.Unlock()
	e.mu.Lock()
	if in.State != StatePending {
		e.mu.Unlock()
		return // stopped or terminated before it started
	}
	snap := in.snapshotLocked()
	e.mu.Unlock()

	var err error
	if e.cfg.Hooks.OnLaunch != nil {
		err = e.cfg.Hooks.OnLaunch(e.ctx, snap)
	}

	e.mu.Lock()
	var release string
	switch {
	case err != nil:
		e.log.Error("launch hook failed; instance terminated", "id", in.ID, "error", err)
		in.State = StateTerminated
		in.StateReason = "Server.InternalError: Internal error on launch"
		in.TerminatedAt = e.clock.Now()
		release, in.PrivateIP = in.PrivateIP, ""
	default:
		in.launched = true
		if in.State == StatePending {
			in.State = StateRunning
		}
		e.log.Info("instance running", "id", in.ID, "ip", in.PrivateIP)
	}
	e.mu.Unlock()
	if release != "" {
		e.releaseIPs([]string{release})
	}
}

// finish completes a stop (stopping -> stopped) or a termination
// (shutting-down -> terminated), calling OnStop or OnTerminate first when
// the instance was launched. It runs in a goroutine owned by e.
func (e *Emulator) finish(in *instance, terminate bool) {
	in.hookMu.Lock()
	defer in.hookMu.Unlock()
	e.mu.Lock()
	launched := in.launched
	in.launched = false
	snap := in.snapshotLocked()
	e.mu.Unlock()

	hook, from, to := e.cfg.Hooks.OnStop, StateStopping, StateStopped
	if terminate {
		hook, from, to = e.cfg.Hooks.OnTerminate, StateShuttingDown, StateTerminated
	}
	if launched && hook != nil {
		if err := hook(e.ctx, snap); err != nil {
			e.log.Error("instance hook failed", "id", in.ID, "to", to, "error", err)
		}
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	if in.State == from {
		in.State = to
		if to == StateTerminated {
			in.TerminatedAt = e.clock.Now()
		}
		e.log.Info("instance "+string(to), "id", in.ID)
	}
}

// reap removes terminated instances older than TerminatedTTL and gives
// their addresses back through ReleaseIP.
func (e *Emulator) reap() {
	e.mu.Lock()
	now := e.clock.Now()
	var released []string
	for id, in := range e.instances {
		if in.State == StateTerminated && !in.TerminatedAt.IsZero() && now.Sub(in.TerminatedAt) >= e.cfg.TerminatedTTL {
			delete(e.instances, id)
			if in.PrivateIP != "" {
				released = append(released, in.PrivateIP)
			}
			e.log.Debug("terminated instance vanished", "id", id)
		}
	}
	e.mu.Unlock()
	e.releaseIPs(released)
}
