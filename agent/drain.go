package agent

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jonboulle/clockwork"

	"github.com/farmhand/farmhand/agent/config"
	"github.com/farmhand/farmhand/agent/localapi"
	"github.com/farmhand/farmhand/bootstrap"
)

// Drain reasons, as FARMHAND_DRAIN_REASON and DrainStatus.Reason give them.
const (
	drainSpot      = "spot-interruption"
	drainASG       = "asg-termination"
	drainRebalance = "rebalance"
)

// noticeSource reads the IMDS notices (bootstrap.NoticeReader).
type noticeSource interface {
	Read(ctx context.Context) (bootstrap.Notices, error)
}

// drainExec runs the on_drain command with extra environment variables and
// returns its combined output.
type drainExec func(ctx context.Context, command string, env []string) ([]byte, error)

// drainWatcher is the agent part that watches IMDS for this instance's end
// (see config.DrainConfig). On a termination or stop notice it makes the
// member draining (gossiped: every agent's exclude lists take it at once),
// runs on_drain bounded in time, and at drain.leave_before ahead of the
// deadline asks the agent to leave, which deletes the record (the stop
// sequence). A rebalance recommendation is logged and shown in the local
// API, and drains without leaving only under drain.rebalance = "drain".
//
// IMDS failures are logged once per streak and retried at the next poll;
// a notice is acted on from any good read, so a fault hides nothing for
// longer than it lasts.
type drainWatcher struct {
	cfg      *current
	notices  noticeSource
	setDrain func(bool) error
	// announceRebalance tells the cluster of a rebalance recommendation
	// (the member tag the coordinator's on_rebalance reads); nil: nobody.
	announceRebalance func() error
	// leave asks the agent to leave and stop; it does not wait.
	leave  func()
	exec   drainExec
	clock  clockwork.Clock
	logger hclog.Logger
	task   *task

	mu    sync.Mutex
	state localapi.DrainStatus // guarded by mu
	// ranOnDrain is set once on_drain was started; it runs once.
	ranOnDrain bool
}

// disabledRecheck is how often a watcher turned off (poll_interval 0)
// looks at the configuration again, since a reload may turn it on.
const disabledRecheck = 5 * time.Second

func (w *drainWatcher) start() {
	w.task = goTask(w.run)
}

func (w *drainWatcher) stop(ctx context.Context) error {
	if w == nil {
		return nil
	}
	err := w.task.stop(ctx)
	if c, ok := w.notices.(interface{ Close() }); ok && err == nil {
		c.Close()
	}
	return err
}

// status is the watcher's state for the local API; nil when the watcher
// is off and has seen nothing.
func (w *drainWatcher) status() *localapi.DrainStatus {
	if w == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	st := w.state
	if w.notices == nil || st == (localapi.DrainStatus{}) && w.cfg.get().Drain.PollInterval == 0 {
		return nil
	}
	return &st
}

func (w *drainWatcher) update(f func(*localapi.DrainStatus)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	f(&w.state)
}

// run polls until ctx ends or the agent was asked to leave.
func (w *drainWatcher) run(ctx context.Context) {
	if w.notices == nil {
		w.logger.Info("drain watcher off: the identity is set in the config and identity.imds_endpoint is empty, so there is no IMDS to watch")
		return
	}
	for {
		interval := w.cfg.get().Drain.PollInterval
		if interval > 0 {
			if done := w.poll(ctx); done {
				return
			}
		} else {
			interval = disabledRecheck
		}
		select {
		case <-ctx.Done():
			return
		case <-w.clock.After(interval):
		}
	}
}

// poll reads the notices once and acts on them; done is true once the
// agent was asked to leave.
func (w *drainWatcher) poll(ctx context.Context) (done bool) {
	n, err := w.notices.Read(ctx)
	if ctx.Err() != nil {
		return true
	}
	w.noteIMDS(err)
	full := w.cfg.get()
	cfg := full.Drain
	cfg.LeaveBefore = full.DrainLeaveLead()
	if !n.RebalanceAt.IsZero() {
		// With a termination notice in the same read, the drain below
		// is the one that counts.
		w.rebalance(ctx, n.RebalanceAt, cfg, n.Terminating())
	}
	if !n.Terminating() {
		return false
	}
	reason, action, deadline := drainSpot, n.SpotAction, n.SpotTime
	if n.SpotAction == "" {
		reason, action = drainASG, "terminate"
	}
	w.drainAndLeave(ctx, reason, action, deadline, cfg)
	return true
}

// noteIMDS logs the first failure of a streak and the recovery.
func (w *drainWatcher) noteIMDS(err error) {
	w.mu.Lock()
	prev := w.state.IMDSError
	if err != nil {
		w.state.IMDSError = err.Error()
	} else {
		w.state.IMDSError = ""
	}
	w.mu.Unlock()
	switch {
	case err != nil && prev == "":
		w.logger.Warn("cannot read termination notices from IMDS; retrying at every poll (notices read meanwhile are still acted on)", "error", err)
	case err == nil && prev != "":
		w.logger.Info("termination notices readable from IMDS again")
	}
}

// rebalance records a rebalance recommendation, the first time it is seen,
// and drains without leaving under the "drain" policy.
func (w *drainWatcher) rebalance(ctx context.Context, at time.Time, cfg config.DrainConfig, terminating bool) {
	w.mu.Lock()
	seen := !w.state.RebalanceAt.IsZero()
	w.state.RebalanceAt = at
	draining := w.state.Draining
	w.mu.Unlock()
	if seen {
		return
	}
	if w.announceRebalance != nil {
		if err := w.announceRebalance(); err != nil {
			w.logger.Warn("cannot announce the rebalance recommendation to the cluster; the coordinator will not act on it", "error", err)
		}
	}
	if cfg.Rebalance != config.RebalanceDrain {
		w.logger.Warn("rebalance recommendation: EC2 may interrupt this spot instance soon; not draining (drain.rebalance = \"warn\")", "notice_time", at)
		return
	}
	w.logger.Warn("rebalance recommendation: draining without leaving (drain.rebalance = \"drain\")", "notice_time", at)
	if !draining && !terminating {
		w.markDraining(drainRebalance, "", time.Time{})
		w.runOnDrain(ctx, drainRebalance, "", time.Time{}, cfg)
	}
}

// markDraining makes the member draining and records why.
func (w *drainWatcher) markDraining(reason, action string, deadline time.Time) {
	now := w.clock.Now()
	w.update(func(s *localapi.DrainStatus) {
		if !s.Draining {
			s.Since = now
		}
		s.Draining, s.Reason, s.Action, s.Deadline = true, reason, action, deadline
	})
	if err := w.setDrain(true); err != nil {
		w.logger.Error("could not announce the drain; peers see it once gossip carries it", "error", err)
	}
}

// drainAndLeave handles a termination or stop notice: draining at once,
// on_drain, then the leave at leave_before ahead of the deadline (at once
// when there is no deadline or it is too near).
func (w *drainWatcher) drainAndLeave(ctx context.Context, reason, action string, deadline time.Time, cfg config.DrainConfig) {
	leaveAt := w.clock.Now()
	if !deadline.IsZero() {
		if at := deadline.Add(-cfg.LeaveBefore); at.After(leaveAt) {
			leaveAt = at
		}
	}
	w.logger.Warn("termination notice: draining, then leaving before the deadline",
		"reason", reason, "action", action, "deadline", deadline, "leave_at", leaveAt)
	w.markDraining(reason, action, deadline)
	w.update(func(s *localapi.DrainStatus) { s.LeaveAt = leaveAt })
	w.runOnDrain(ctx, reason, action, deadline, cfg)
	if wait := leaveAt.Sub(w.clock.Now()); wait > 0 {
		select {
		case <-ctx.Done():
			return
		case <-w.clock.After(wait):
		}
	}
	if ctx.Err() != nil {
		return
	}
	w.logger.Warn("leaving the cluster and deleting our record before the deadline", "deadline", deadline)
	w.leave()
}

// runOnDrain runs drain.on_drain once, bounded by on_drain_timeout and by
// the time left before the leave.
func (w *drainWatcher) runOnDrain(ctx context.Context, reason, action string, deadline time.Time, cfg config.DrainConfig) {
	if cfg.OnDrain == "" || w.ranOnDrain {
		return
	}
	w.ranOnDrain = true
	budget := cfg.OnDrainTimeout
	if !deadline.IsZero() {
		left := deadline.Add(-cfg.LeaveBefore).Sub(w.clock.Now())
		if left <= 0 {
			w.logger.Warn("on_drain skipped: the deadline is too near", "command", cfg.OnDrain, "deadline", deadline)
			w.update(func(s *localapi.DrainStatus) { s.OnDrain = "skipped: the deadline is too near" })
			return
		}
		budget = min(budget, left)
	}
	env := []string{"FARMHAND_DRAIN_REASON=" + reason, "FARMHAND_DRAIN_ACTION=" + action, "FARMHAND_DRAIN_DEADLINE="}
	if !deadline.IsZero() {
		env[2] += deadline.UTC().Format(time.RFC3339)
	}
	w.update(func(s *localapi.DrainStatus) { s.OnDrain = "running" })
	w.logger.Info("running on_drain", "command", cfg.OnDrain, "timeout", budget)
	rctx, cancel := clockwork.WithTimeout(ctx, w.clock, budget)
	out, err := w.exec(rctx, cfg.OnDrain, env)
	timedOut := false
	select { // not rctx.Err(): clockwork's fake context blocks in Err until done
	case <-rctx.Done():
		timedOut = ctx.Err() == nil
	default:
	}
	cancel()
	if len(out) > maxOnDrainOutput {
		out = out[:maxOnDrainOutput]
	}
	var result string
	switch {
	case err != nil && timedOut:
		result = fmt.Sprintf("timed out after %s", budget)
		w.logger.Error("on_drain timed out; going on with the drain", "command", cfg.OnDrain, "timeout", budget, "output", string(out))
	case err != nil:
		result = "failed: " + err.Error()
		w.logger.Error("on_drain failed; going on with the drain", "command", cfg.OnDrain, "error", err, "output", string(out))
	default:
		result = "ok"
		w.logger.Info("on_drain done", "command", cfg.OnDrain, "output", string(out))
	}
	w.update(func(s *localapi.DrainStatus) { s.OnDrain = result })
}

// maxOnDrainOutput caps the on_drain output kept in the log.
const maxOnDrainOutput = 4096
