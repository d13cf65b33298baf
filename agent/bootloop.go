package agent

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jonboulle/clockwork"

	"github.com/farmhand/farmhand/bootstrap"
	"github.com/farmhand/farmhand/bootstrap/awscall"
	"github.com/farmhand/farmhand/membership"
)

// Boot retry pacing. A fleet that boots together while S3 is failing must not
// hammer it in lockstep: every wait is full-jitter exponential backoff.
var bootBackoff = awscall.Backoff{Base: time.Second, Max: 30 * time.Second}

// readyDeadline bounds how long READY can wait for S3. Past it the agent
// declares itself up (and isolated) so systemd does not kill and restart it
// in a loop during an S3 outage; it keeps retrying in the background.
const readyDeadline = 60 * time.Second

// bootLoop registers this node in the S3 registry and joins the cluster,
// retrying until both are done, and declares the agent ready. It tries the
// local peer snapshot first, so a restarted agent rejoins even while S3 is
// unreachable. While S3 is unavailable a round costs one registry call:
// discovery waits for the next round. Once stop has returned it makes no
// registry request, so a deregister after it is final.
type bootLoop struct {
	registry    *bootstrap.Registry
	record      func() bootstrap.Record
	identity    bootstrap.Identity
	clusterName string
	dataDir     string
	joinFanout  int
	clock       clockwork.Clock
	ready       *readiness
	logger      hclog.Logger
	// retryJoin gives the retry_join addresses of the current config
	// (nil: none); they are joined beside the registry each round.
	retryJoin func() []string

	// cluster is set by attach once memberlist is up; membership may call
	// discoverOnceJoined from its own goroutines from then on.
	cluster atomic.Pointer[membership.Cluster]
	// joined is closed once the loop has joined a peer or found itself the
	// first member; until then it does the discovering.
	joined chan struct{}
	task   *task
}

// attach gives the loop the cluster it joins.
func (b *bootLoop) attach(c *membership.Cluster) { b.cluster.Store(c) }

// start runs the loop in the background.
func (b *bootLoop) start() { b.task = goTask(b.run) }

// stop ends the loop and waits for it, at most until ctx ends.
func (b *bootLoop) stop(ctx context.Context) error { return b.task.stop(ctx) }

func (b *bootLoop) run(ctx context.Context) {
	joined := false
	setJoined := func() {
		joined = true
		close(b.joined)
	}
	if b.joinSnapshot(ctx) {
		setJoined()
	}
	registered := false
	deadline := b.clock.After(readyDeadline)

	for attempt := 0; ; attempt++ {
		if !joined && b.joinStatic(ctx) {
			setJoined()
		}
		unavailable := false
		if !registered {
			rec := b.record()
			if err := b.registry.Register(ctx, rec); err != nil {
				if ctx.Err() != nil {
					return
				}
				unavailable = awscall.Retryable(err)
				b.logger.Warn("cannot register in the S3 registry yet; retrying", "error", err)
			} else {
				registered = true
				b.logger.Info("registered", "key", b.registry.Key(rec))
			}
		}
		if !joined && !unavailable {
			n, listed, err := b.discoverAndJoin(ctx)
			switch {
			case ctx.Err() != nil:
				return
			case err != nil:
				b.logger.Warn("cannot discover peers from the S3 registry yet; retrying", "error", err)
			case n > 0:
				setJoined()
				b.markReady(fmt.Sprintf("joined through %d of %d registry candidates", n, listed))
			case listed == 0:
				// Nobody else is registered: we are the first member.
				setJoined()
				b.markReady("first member of the cluster")
			default:
				// Records exist but nobody answered: stale records, or peers
				// still booting. Serve alone and keep trying.
				b.markReady(fmt.Sprintf("none of %d registry candidates answered; running alone and retrying", listed))
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
			b.markReady("S3 registry unreachable; running alone and retrying")
			deadline = nil
		case <-b.clock.After(wait):
		}
	}
}

// markReady declares the agent ready, once.
func (b *bootLoop) markReady(reason string) {
	if b.ready.markReady(reason) {
		b.logger.Info("ready", "reason", reason, "alive", b.cluster.Load().NumAlive())
	}
}

// joinSnapshot joins peers saved by an earlier run. It reports whether any
// of them answered.
func (b *bootLoop) joinSnapshot(ctx context.Context) bool {
	peers, err := readSnapshot(b.dataDir, b.clusterName)
	if err != nil {
		b.logger.Warn("ignoring the peer snapshot", "error", err)
		return false
	}
	if len(peers) == 0 {
		return false
	}
	addrs := make([]string, 0, len(peers))
	for _, p := range peers {
		addrs = append(addrs, net.JoinHostPort(p.Addr, strconv.Itoa(p.Port)))
	}
	n, err := b.cluster.Load().Join(ctx, addrs)
	if n == 0 {
		b.logger.Info("no peer from the snapshot answered", "tried", len(addrs), "error", err)
		return false
	}
	b.markReady(fmt.Sprintf("rejoined through %d peers from the local snapshot", n))
	return true
}

// discoverAndJoin reads join candidates from the registry and joins a few of
// them concurrently. It returns how many answered and how many were listed.
func (b *bootLoop) discoverAndJoin(ctx context.Context) (joined, listed int, err error) {
	addrs, err := b.discover(ctx)
	if err != nil {
		return 0, 0, err
	}
	if len(addrs) == 0 {
		return 0, 0, nil
	}
	n, jerr := b.cluster.Load().Join(ctx, addrs)
	if n == 0 && jerr != nil {
		b.logger.Debug("join failed", "candidates", len(addrs), "error", jerr)
	}
	return n, len(addrs), nil
}

// discover returns "ip:port" join candidates from the registry, excluding
// this node.
func (b *bootLoop) discover(ctx context.Context) ([]string, error) {
	cands, err := b.registry.Candidates(ctx, b.identity, b.joinFanout)
	if err != nil {
		return nil, err
	}
	return bootstrap.JoinAddrs(cands), nil
}

// discoverOnceJoined is membership's isolation rediscovery. Until the loop
// has joined (READY may come earlier: after the S3 deadline, or when no
// candidate answered) the loop is already discovering with its own
// backoff; a second discoverer would only double the S3 traffic (during an
// outage, the retries).
func (b *bootLoop) discoverOnceJoined(ctx context.Context) ([]string, error) {
	select {
	case <-b.joined:
		return b.discover(ctx)
	default:
		return nil, nil
	}
}
