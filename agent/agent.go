package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jonboulle/clockwork"

	"github.com/farmhand/farmhand/agent/config"
	"github.com/farmhand/farmhand/agent/render"
	"github.com/farmhand/farmhand/bootstrap"
	"github.com/farmhand/farmhand/membership"
)

// Options are the agent's inputs beyond its Config.
type Options struct {
	// Logger is the root logger; each subsystem gets a Named child.
	// Default: a logger at the config's level on stderr.
	Logger hclog.Logger
	// S3 is the registry's S3 client. Nil builds one from the config and the
	// standard AWS configuration chain.
	S3 bootstrap.S3API
	// Clock drives the agent's timers. Nil is the real clock. The stop's
	// bounds are real time.
	Clock clockwork.Clock
	// Loader re-reads the configuration for a reload (SIGHUP or the local
	// API); the command line passes config.Load with its flags. Nil refuses
	// reloads from source.
	Loader func() (*config.Config, error)
}

// Agent is one farmhand daemon. Create it with New and run it with Run;
// Run returns after a graceful leave and shutdown.
//
// The agent is wiring: each part below owns its state, its start and its
// stop, and knows nothing of the Agent. They are listed in start order;
// stop gives the (different) stop order.
type Agent struct {
	opts   Options
	logger hclog.Logger // the root logger
	clock  clockwork.Clock
	notify notifier
	cfg    current
	ready  *readiness

	// leaveReq is closed when the local API asks the agent to leave; left
	// once the leave is done and the record deleted.
	leaveReq  chan struct{}
	leaveOnce sync.Once
	left      chan struct{}

	// log is the root logger with this node's name, set by start; only
	// the goroutine running Run uses it.
	log hclog.Logger

	// The parts, set by start in this order; nil until started.
	render    *renderRunner // its blocks compile before anything starts
	lock      *dataDirLock
	node      *node
	registry  *bootstrap.Registry
	metrics   *metricsServer
	cluster   *membership.Cluster
	coord     *coordinatorRunner
	handlers  *handlerPart
	api       *task // the local API server
	snapshots *snapshotWriter
	watchdog  *watchdog
	pruner    pruner
	drain     *drainWatcher
	boot      *bootLoop
	reloads   atomic.Pointer[reloader] // nil until the agent is up
}

// New checks cfg and returns an agent that has started nothing yet.
func New(cfg *config.Config, opts Options) (*Agent, error) {
	if cfg == nil {
		return nil, errors.New("agent: nil config")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid configuration: %w", err)
	}
	if opts.Logger == nil {
		opts.Logger = NewLogger(nil, cfg.LogLevel, cfg.LogJSON)
	}
	if opts.Clock == nil {
		opts.Clock = clockwork.NewRealClock()
	}
	a := &Agent{
		opts:     opts,
		logger:   opts.Logger,
		clock:    opts.Clock,
		notify:   notifier{logger: opts.Logger.Named("systemd")},
		leaveReq: make(chan struct{}),
		left:     make(chan struct{}),
	}
	a.cfg.set(cfg)
	a.ready = newReadiness(a.notify)
	return a, nil
}

// State is bootstrapping, alive, leaving or left.
func (a *Agent) State() string { return a.ready.get() }

// Ready is closed once the agent has joined its cluster or knows it is the
// first member (or gave up waiting for S3).
func (a *Agent) Ready() <-chan struct{} { return a.ready.ready }

// ReloadFromSource re-reads the configuration through Options.Loader (the
// same files, directory, environment and flags as at start) and applies
// it, or refuses it whole; SIGHUP and POST /v1/reload both end here.
// Reloads run one at a time.
func (a *Agent) ReloadFromSource() (ReloadResult, error) {
	r := a.reloads.Load()
	if r == nil {
		a.logger.Warn("reload failed: the agent is still starting; reload again once it is up")
		return ReloadResult{}, errStarting
	}
	return r.reloadFromSource()
}

// Reload applies next as ReloadFromSource does.
func (a *Agent) Reload(next *config.Config) (ReloadResult, error) {
	r := a.reloads.Load()
	if r == nil {
		a.logger.Warn("reload failed: the agent is still starting; reload again once it is up")
		return ReloadResult{}, errStarting
	}
	return r.reload(next)
}

// Run starts the agent, serves until ctx ends or the local API asks it to
// leave, then leaves the cluster and stops (see stop). A half-started
// agent is stopped before Run returns its start error.
func (a *Agent) Run(ctx context.Context) error {
	if err := a.start(ctx); err != nil {
		a.stop(false)
		if errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	}
	select {
	case <-ctx.Done():
	case <-a.leaveReq:
	}
	a.stop(true)
	return nil
}

// start brings the parts up in the order of the design's data flow:
// identity, memberlist, local API, then registration and joins in the
// background.
func (a *Agent) start(ctx context.Context) error {
	cfg := a.cfg.get()
	a.notify.Status("starting")
	for _, w := range cfg.Warnings() {
		a.logger.Warn(w)
	}

	// 1. Render blocks compile first: a bad template names its block and
	// nothing has started.
	a.render = newRenderRunner(a.ready.ready, a.clock, a.logger.Named("render"))
	blocks, err := a.render.compile(cfg)
	if err != nil {
		return err
	}

	// 2. The data dir lock: a second agent on the same dir is refused.
	if a.lock, err = lockDataDir(cfg.DataDir); err != nil {
		return err
	}

	// 3. Identity from IMDSv2 (bounded; config fields override).
	id, err := bootstrap.LoadIdentity(ctx, identityConfig(cfg))
	if err != nil {
		return err
	}
	a.node = &node{identity: id, startedAt: a.clock.Now(), cfg: &a.cfg}
	a.log = a.logger.With("node", id.InstanceID)
	a.log.Info("identity", "private_ip", id.PrivateIP, "az", id.AvailabilityZone,
		"instance_type", id.InstanceType, "region", id.Region)

	// 4. The registry: no request yet.
	reg, s3, err := newRegistry(ctx, cfg, a.node, a.opts.S3, a.clock, a.log.Named("registry"))
	if err != nil {
		return err
	}
	a.registry = reg

	// 5. Metrics, before memberlist: memberlist reports
	// through go-metrics' global sink, which must be in place first.
	a.metrics = newMetricsServer(reg, a.render, a.log.Named("metrics"))
	if cfg.MetricsAddr != "" {
		ln, err := listenMetrics(cfg.MetricsAddr)
		if err != nil {
			return err
		}
		if err := a.metrics.serve(ctx, ln); err != nil {
			return err
		}
	}

	// 6. Memberlist. The boot loop is made first: membership asks it for
	// rediscovery.
	a.boot = &bootLoop{
		registry: reg, record: a.node.record, identity: id, clusterName: cfg.Cluster, dataDir: cfg.DataDir,
		joinFanout: cfg.Gossip.JoinFanout, clock: a.clock, ready: a.ready, logger: a.log.Named("bootstrap"),
		joined: make(chan struct{}),
	}
	mc, err := membershipConfig(cfg, a.node, a.clock, a.log.Named("membership"))
	if err != nil {
		return err
	}
	mc.Discover = a.boot.discoverOnceJoined
	if a.cluster, err = membership.Create(mc); err != nil {
		return fmt.Errorf("gossip on %s:%d: %w", mc.BindAddr, mc.BindPort, err)
	}
	a.boot.attach(a.cluster)
	self := net.JoinHostPort(a.node.advertiseAddr(), strconv.Itoa(a.cluster.LocalMember().Port))
	a.boot.retryJoin = func() []string { return retryJoinAddrs(a.cfg.get(), self) }
	a.metrics.attach(a.cluster)
	a.log.Info("gossip listening", "addr", mc.BindAddr, "port", mc.BindPort, "encrypted", len(mc.Keys) > 0)

	// 7. The local API, state "bootstrapping". The coordinator runner
	// exists (not running) so the API can say whether it runs.
	a.coord = newCoordinatorRunner(a.node, a.cluster, reg, s3, a.ready.ready, a.clock, a.log.Named("coordinator"))
	var notices noticeSource // nil: no IMDS here, no watcher
	if imdsInUse(cfg) {
		notices = bootstrap.NewNoticeReader(identityConfig(cfg).Endpoint, bootstrap.DefaultNoticeTimeout)
	}
	a.drain = &drainWatcher{cfg: &a.cfg, notices: notices, setDrain: a.cluster.SetDraining, leave: a.requestLeave,
		announceRebalance: func() error {
			a.node.rebalance.Store(true)
			return a.cluster.UpdateTags(a.node.tags())
		},
		exec: render.ShellExecEnv, clock: a.clock, logger: a.log.Named("drain")}
	a.handlers = newHandlerPart(func() []config.HandlerConfig { return a.cfg.get().Handlers },
		func() handlerSelf {
			return handlerSelf{name: id.InstanceID, cluster: a.cfg.get().Cluster, tags: a.node.tags()}
		},
		a.metrics.events, a.log.Named("handlers"))
	a.coord.onDecision = a.decided
	a.metrics.coord.Store(a.coord)
	b := &backend{cfg: &a.cfg, node: a.node, ready: a.ready, registry: reg, cluster: a.cluster,
		coord: a.coord, render: a.render, drain: a.drain, leave: a.leave, reload: a.ReloadFromSource}
	a.metrics.setPage((&farmPage{b: b, store: s3, clock: a.clock, logger: a.log.Named("page")}).handler())
	if a.api, err = startAPI(cfg, b, a.log.Named("localapi")); err != nil {
		return err
	}

	// 8. The event handlers (before the boot loop: the members it finds
	// are member-join events), the runners that wait for READY, the
	// snapshot writer, the watchdog, the registry pruner, the drain
	// watcher.
	a.handlers.start(a.cluster)
	a.render.start(a.cluster, blocks)
	co, err := a.coord.build(ctx, cfg)
	if err != nil {
		return err
	}
	a.coord.start(co)
	if co != nil {
		a.log.Info("coordinator enabled", "groups", len(cfg.Coordinator.Groups), "dry_run", cfg.Coordinator.DryRun)
	}
	a.snapshots = &snapshotWriter{cluster: a.cluster, clusterName: cfg.Cluster, self: id.InstanceID,
		dataDir: cfg.DataDir, clock: a.clock, logger: a.log.Named("snapshot")}
	a.snapshots.start()
	a.watchdog = newWatchdog(func() {
		// NumMembers takes memberlist's node lock: if gossip is wedged, so
		// is this call, the pings stop and systemd restarts us.
		_ = a.cluster.Memberlist().NumMembers()
	}, a.notify, a.clock)
	a.watchdog.start()
	p, err := newPruner(ctx, cfg, a.node, reg, a.cluster, a.clock, a.log.Named("prune"))
	if err != nil {
		return err
	}
	a.pruner.start(p, a.ready.ready)
	a.drain.start()

	// 9. The boot loop: snapshot rejoin, register, discover, join, READY.
	a.boot.start()

	// Reloads from now on.
	rctx, cancel := context.WithCancel(context.Background())
	a.reloads.Store(&reloader{sem: make(chan struct{}, 1), ctx: rctx, cancel: cancel, loader: a.opts.Loader,
		cfg: &a.cfg, node: a.node, cluster: a.cluster, registry: reg, metrics: a.metrics, coord: a.coord,
		render: a.render, notify: a.notify, logger: a.log})
	return nil
}

// Shares of leave_timeout each stop step may take at most. They add up to
// 1, so the whole stop is bounded by leave_timeout even when steps hang.
const (
	shareReloads     = 0.02
	shareDrain       = 0.02
	shareBoot        = 0.04
	shareCoordinator = 0.20
	shareLeave       = 0.25
	shareDeregister  = 0.25
	shareRunners     = 0.02 // each of handlers, render, snapshot writer, watchdog, pruner
	shareAPI         = 0.04
	shareMetrics     = 0.02
	shareMemberlist  = 0.04
	shareLock        = 0.02
)

// stop shuts the agent down. graceful is false after a failed start: then
// the agent neither leaves nor deregisters. The order:
//
//  1. State "leaving" and STOPPING=1 to systemd.
//  2. Refuse reloads and wait for one under way: a reload may rewrite the
//     record (tags) or swap the coordinator.
//  3. Stop the drain watcher: it starts no drain, no on_drain (one
//     running is killed) and no leave of its own from now on.
//  4. Stop the boot loop: once it has returned it makes no registry
//     request, so the deregister in step 7 is final, even if S3 recovers
//     from an outage meanwhile.
//  5. Stop the coordinator: its EC2 calls in flight are cancelled, it
//     makes no new one, and it releases its lease.
//  6. Leave the cluster: memberlist broadcasts the leave.
//  7. Delete our registry record.
//  8. State "left": a `farmhand leave` waiting on the local API returns.
//  9. Stop the event handlers (runs under way are killed), the render
//     runner, the snapshot writer, the watchdog and the registry pruner.
//  10. Stop the local API and the metrics server.
//  11. Shut memberlist down.
//  12. Release the data dir lock.
//
// Each step may take its share of leave_timeout (the share constants); a
// step that overruns is left behind with a warning and the next one
// starts, so the whole stop ends within leave_timeout even when a step
// hangs. A second SIGINT/SIGTERM exits at once (cmd/farmhand).
func (a *Agent) stop(graceful bool) {
	cfg := a.cfg.get()
	log := a.log
	if log == nil { // the start failed before the identity
		log = a.logger
	}
	s := newStopSequence(cfg.LeaveTimeout, log)
	a.ready.leaving()
	if graceful {
		log.Info("leaving the cluster", "timeout", cfg.LeaveTimeout)
	}
	if r := a.reloads.Load(); r != nil {
		s.step("reloads", shareReloads, r.stop)
	}
	if a.drain != nil {
		s.step("drain watcher", shareDrain, a.drain.stop)
	}
	if a.boot != nil {
		s.step("boot loop", shareBoot, a.boot.stop)
	}
	if a.coord != nil {
		s.step("coordinator", shareCoordinator, a.coord.stop)
	}
	if graceful && a.cluster != nil {
		s.step("leave", shareLeave, func(ctx context.Context) error {
			if err := a.cluster.Leave(remaining(ctx)); err != nil {
				return fmt.Errorf("leave broadcast did not finish; peers will detect us as dead instead: %w", err)
			}
			return nil
		})
		s.step("deregister", shareDeregister, func(ctx context.Context) error {
			if err := a.registry.Deregister(ctx, a.node.identity.InstanceID); err != nil {
				return fmt.Errorf("cannot delete our registry record; it stays until it is pruned: %w", err)
			}
			return nil
		})
	}
	a.ready.left()
	close(a.left)
	if a.handlers != nil {
		s.step("event handlers", shareRunners, a.handlers.stop)
	}
	if a.render != nil {
		s.step("render", shareRunners, a.render.stop)
	}
	if a.snapshots != nil {
		s.step("snapshot writer", shareRunners, a.snapshots.stop)
	}
	if a.watchdog != nil {
		s.step("watchdog", shareRunners, a.watchdog.stop)
	}
	s.step("pruner", shareRunners, a.pruner.stop)
	s.step("local API", shareAPI, a.api.stop)
	if a.metrics != nil {
		s.step("metrics", shareMetrics, a.metrics.stop)
	}
	if a.cluster != nil {
		s.step("memberlist", shareMemberlist, func(context.Context) error { return a.cluster.Shutdown() })
	}
	if a.lock != nil {
		s.step("data dir lock", shareLock, func(context.Context) error { a.lock.Unlock(); return nil })
	}
	log.Info("stopped", "took", s.took().Round(time.Millisecond))
}

// requestLeave makes Run leave and stop, without waiting: the drain
// watcher calls it at its deadline.
func (a *Agent) requestLeave() { a.leaveOnce.Do(func() { close(a.leaveReq) }) }

// leave makes Run leave and stop, and returns once the agent has left and
// deleted its record, or ctx ended. The local API calls it.
func (a *Agent) leave(ctx context.Context) error {
	a.requestLeave()
	select {
	case <-a.left:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
