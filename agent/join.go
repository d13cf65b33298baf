package agent

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/farmhand/farmhand/bootstrap"
)

// Boot retry pacing. A fleet that boots together while S3 is failing must not
// hammer it in lockstep: every wait is full-jitter exponential backoff.
var bootBackoff = bootstrap.BackoffConfig{Base: time.Second, Max: 30 * time.Second}

const (
	// readyDeadline bounds how long READY can wait for S3. Past it the agent
	// declares itself up (and isolated) so systemd does not kill and restart
	// it in a loop during an S3 outage; it keeps retrying in the background.
	readyDeadline = 60 * time.Second
	// registryAttempts is the attempts per registry call (the first
	// included); the loops around the calls do the real retrying.
	registryAttempts = 2
)

// bootstrapLoop registers this node and joins the cluster, retrying until
// both are done. It tries the local peer snapshot first, so a restarted
// agent rejoins even while S3 is unreachable. While S3 is unavailable a
// round costs one registry call: discovery waits for the next round.
func (a *Agent) bootstrapLoop(ctx context.Context) {
	log := a.logger.Named("bootstrap")
	joined := false
	setJoined := func() {
		joined = true
		close(a.joined)
	}
	if a.joinSnapshot(ctx) {
		setJoined()
	}
	registered := false
	deadline := a.clock.After(readyDeadline)

	for attempt := 0; ; attempt++ {
		if !joined && a.joinStatic(ctx) {
			setJoined()
		}
		unavailable := false
		if !registered {
			if err := a.registry.Register(ctx, a.record()); err != nil {
				if ctx.Err() != nil {
					return
				}
				unavailable = bootstrap.Retryable(err)
				log.Warn("cannot register in the S3 registry yet; retrying", "error", err)
			} else {
				registered = true
				log.Info("registered", "key", a.registry.Key(a.record()))
			}
		}
		if !joined && !unavailable {
			n, listed, err := a.discoverAndJoin(ctx)
			switch {
			case ctx.Err() != nil:
				return
			case err != nil:
				log.Warn("cannot discover peers from the S3 registry yet; retrying", "error", err)
			case n > 0:
				setJoined()
				a.markReady(fmt.Sprintf("joined through %d of %d registry candidates", n, listed))
			case listed == 0:
				// Nobody else is registered: we are the first member.
				setJoined()
				a.markReady("first member of the cluster")
			default:
				// Records exist but nobody answered: stale records, or peers
				// still booting. Serve alone and keep trying.
				a.markReady(fmt.Sprintf("none of %d registry candidates answered; running alone and retrying", listed))
			}
		}
		if registered && joined {
			return
		}
		wait := bootBackoff.Delay(attempt)
		select {
		case <-ctx.Done():
			return
		case <-deadline:
			a.markReady("S3 registry unreachable; running alone and retrying")
			deadline = nil
		case <-a.clock.After(wait):
		}
	}
}

// joinSnapshot joins peers saved by an earlier run. It reports whether any
// of them answered.
func (a *Agent) joinSnapshot(ctx context.Context) bool {
	peers, err := readSnapshot(a.config().DataDir, a.config().Cluster)
	if err != nil {
		a.logger.Warn("ignoring the peer snapshot", "error", err)
		return false
	}
	if len(peers) == 0 {
		return false
	}
	addrs := make([]string, 0, len(peers))
	for _, p := range peers {
		addrs = append(addrs, net.JoinHostPort(p.Addr, strconv.Itoa(p.Port)))
	}
	n, err := a.cluster.Join(ctx, addrs)
	if n == 0 {
		a.logger.Info("no peer from the snapshot answered", "tried", len(addrs), "error", err)
		return false
	}
	a.markReady(fmt.Sprintf("rejoined through %d peers from the local snapshot", n))
	return true
}

// discoverAndJoin reads join candidates from the registry and joins a few of
// them concurrently. It returns how many answered and how many were listed.
func (a *Agent) discoverAndJoin(ctx context.Context) (joined, listed int, err error) {
	addrs, err := a.discover(ctx)
	if err != nil {
		return 0, 0, err
	}
	if len(addrs) == 0 {
		return 0, 0, nil
	}
	n, jerr := a.cluster.Join(ctx, addrs)
	if n == 0 && jerr != nil {
		a.logger.Debug("join failed", "candidates", len(addrs), "error", jerr)
	}
	return n, len(addrs), nil
}

// discover returns "ip:port" join candidates from the registry, excluding
// this node. The membership layer also calls it when the node looks isolated.
func (a *Agent) discover(ctx context.Context) ([]string, error) {
	cands, err := a.registry.Candidates(ctx, a.identity, a.config().Gossip.JoinFanout)
	if err != nil {
		return nil, err
	}
	return bootstrap.JoinAddrs(cands), nil
}

// record is this node's registry record.
func (a *Agent) record() bootstrap.Record {
	cfg := a.config()
	return bootstrap.Record{
		Version:      bootstrap.RecordVersion,
		Cluster:      cfg.Cluster,
		Name:         a.identity.InstanceID,
		Addr:         a.advertiseAddr(),
		Port:         cfg.Gossip.Port,
		AZ:           a.identity.AvailabilityZone,
		Tags:         a.tags(),
		AgentVersion: Version,
		StartedAt:    a.startedAt.UTC().Truncate(time.Second),
	}
}
