package agent

import (
	"context"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"

	"github.com/farmhand/farmhand/membership"
)

// snapshotDebounce batches view changes before the peer snapshot is
// rewritten, so a join storm costs one disk write, not hundreds.
const snapshotDebounce = 2 * time.Second

// snapshotLoop keeps <data_dir>/peers.json current with the alive peers.
func (a *Agent) snapshotLoop(ctx context.Context) {
	events, cancel := a.cluster.Subscribe(64)
	defer cancel()
	var last snapshot
	var pending <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-events:
			if !ok {
				return
			}
			if pending == nil {
				pending = a.clock.After(snapshotDebounce)
			}
		case <-pending:
			pending = nil
			cfg := a.config()
			s := buildSnapshot(cfg.Cluster, a.identity.InstanceID, a.cluster.Members(), a.clock.Now())
			if len(s.Peers) == 0 || samePeers(s, last) {
				// Never overwrite a useful snapshot with an empty one: an
				// isolated node still wants its old peers on restart.
				continue
			}
			if err := writeSnapshot(cfg.DataDir, s); err != nil {
				a.logger.Warn("cannot save the peer snapshot; a restart during an S3 outage may not rejoin", "error", err)
				continue
			}
			last = s
		}
	}
}

// watchdogLoop pings the systemd watchdog at half its interval when the unit
// sets WatchdogSec. A wedged agent stops pinging and systemd restarts it.
func (a *Agent) watchdogLoop(ctx context.Context) {
	interval, err := daemon.SdWatchdogEnabled(false)
	if err != nil || interval <= 0 {
		return
	}
	tick := a.clock.NewTicker(interval / 2)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.Chan():
			// NumMembers takes memberlist's node lock: if gossip is wedged,
			// so is this call, the ping stops and systemd restarts us.
			_ = a.cluster.Memberlist().NumMembers()
			a.notify.Watchdog()
		}
	}
}

// runAfterReady waits for READY, then runs run(ctx) while a second
// goroutine hands every membership event to onEvent. Both end with ctx;
// onEvent is only ever called from that one goroutine, which has exited
// when runAfterReady returns.
func (a *Agent) runAfterReady(ctx context.Context, name string, run func(context.Context) error, onEvent func(membership.Event)) {
	select {
	case <-ctx.Done():
		return
	case <-a.ready:
	}
	events, cancel := a.cluster.Subscribe(64)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-events:
				if !ok {
					return
				}
				onEvent(ev)
			}
		}
	}()
	if err := run(ctx); err != nil {
		a.logger.Error(name+" stopped", "error", err)
	}
	<-done
}
