package agent

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jonboulle/clockwork"

	"github.com/farmhand/farmhand/agent/config"
	"github.com/farmhand/farmhand/agent/coordinator"
	"github.com/farmhand/farmhand/agent/localapi"
	"github.com/farmhand/farmhand/agent/render"
	"github.com/farmhand/farmhand/bootstrap"
	"github.com/farmhand/farmhand/membership"
)

// Agent states as the local API reports them.
const (
	StateBootstrapping = "bootstrapping"
	StateAlive         = "alive"
	StateLeaving       = "leaving"
	StateLeft          = "left"
)

// Options are the agent's inputs beyond its Config.
type Options struct {
	// Logger is the root logger; each subsystem gets a Named child.
	// Default: a logger at the config's level on stderr.
	Logger hclog.Logger
	// S3 is the registry's S3 client. Nil builds one from the config and the
	// standard AWS configuration chain.
	S3 bootstrap.S3API
	// Clock drives the agent's timers. Nil is the real clock.
	Clock clockwork.Clock
	// Loader re-reads the configuration for a reload (SIGHUP or the local
	// API); the command line passes config.Load with its flags. Nil refuses
	// reloads from source.
	Loader func() (*config.Config, error)
}

// Agent is one farmhand daemon. Create it with New and run it with Run;
// Run returns after a graceful leave and shutdown.
type Agent struct {
	opts   Options
	logger hclog.Logger
	clock  clockwork.Clock
	notify notifier

	cfgMu sync.Mutex
	cfg   *config.Config // guarded by cfgMu; replaced by Reload

	state     atomic.Value // string
	startedAt time.Time

	// Set during start, read-only afterwards.
	identity    bootstrap.Identity
	registry    *bootstrap.Registry
	cluster     *membership.Cluster
	renderer    *render.Runner           // nil without render blocks
	coordinator *coordinator.Coordinator // nil unless coordinator.enabled
	s3          bootstrap.S3API

	// leaveReq is closed when the local API asks the agent to leave.
	leaveReq  chan struct{}
	leaveOnce sync.Once
	// left is closed once the leave is done and the record deleted.
	left chan struct{}
	// ready is closed once the agent has joined (or knows it is alone).
	ready     chan struct{}
	readyOnce sync.Once
	// joined is closed once the bootstrap loop has joined a peer or found
	// itself the first member; until then that loop does the discovering.
	joined chan struct{}
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
		cfg:      cfg,
		leaveReq: make(chan struct{}),
		left:     make(chan struct{}),
		ready:    make(chan struct{}),
		joined:   make(chan struct{}),
	}
	a.state.Store(StateBootstrapping)
	return a, nil
}

func (a *Agent) config() *config.Config {
	a.cfgMu.Lock()
	defer a.cfgMu.Unlock()
	return a.cfg
}

// State is bootstrapping, alive, leaving or left.
func (a *Agent) State() string { return a.state.Load().(string) }

// Ready is closed once the agent has joined its cluster or knows it is the
// first member.
func (a *Agent) Ready() <-chan struct{} { return a.ready }

// Run starts the agent, serves until ctx ends or the local API asks it to
// leave, then leaves the cluster and shuts down in order. A half-started agent
// is cleaned up before Run returns its start error.
func (a *Agent) Run(ctx context.Context) error {
	a.startedAt = a.clock.Now()
	var stack cleanupStack
	defer stack.run(a.logger) // anything still on the stack after a failed start

	runCtx, cancelRun := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	stack.push("background tasks", func(context.Context) error {
		cancelRun()
		wg.Wait()
		return nil
	})
	goTask := func(name string, f func(context.Context)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(runCtx)
			a.logger.Trace("task stopped", "task", name)
		}()
	}

	if err := a.start(ctx, &stack, goTask); err != nil {
		if errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	}

	select {
	case <-ctx.Done():
	case <-a.leaveReq:
	}
	a.shutdown(&stack)
	return nil
}

// start brings the agent up as the design's data flow describes: identity,
// memberlist, local API, then registration and joins in the background.
func (a *Agent) start(ctx context.Context, stack *cleanupStack, goTask func(string, func(context.Context))) error {
	cfg := a.config()
	a.notify.Status("starting")
	for _, w := range cfg.Warnings() {
		a.logger.Warn(w)
	}

	// Templates compile before anything starts: a bad one names its block.
	var err error
	if a.renderer, err = a.newRenderer(cfg); err != nil {
		return err
	}
	lock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return err
	}
	stack.push("data dir lock", func(context.Context) error { lock.Unlock(); return nil })

	a.identity, err = bootstrap.LoadIdentity(ctx, identityConfig(cfg))
	if err != nil {
		return err
	}
	a.logger = a.logger.With("node", a.identity.InstanceID)
	a.logger.Info("identity", "private_ip", a.identity.PrivateIP, "az", a.identity.AvailabilityZone,
		"instance_type", a.identity.InstanceType, "region", a.identity.Region)

	if err := a.startRegistry(ctx); err != nil {
		return err
	}

	// Metrics first: memberlist reports through go-metrics' global sink,
	// which must be in place before memberlist starts.
	if cfg.MetricsAddr != "" {
		m, err := startMetrics(cfg.MetricsAddr, a, a.logger.Named("metrics"))
		if err != nil {
			return err
		}
		stack.push("metrics", m.Close)
	}

	if err := a.startMembership(cfg); err != nil {
		return err
	}
	stack.push("memberlist", func(context.Context) error { return a.cluster.Shutdown() })

	if err := a.startLocalAPI(cfg, stack, goTask); err != nil {
		return err
	}

	if a.renderer != nil {
		goTask("render", a.renderLoop)
	}
	if err := a.startCoordinator(ctx, cfg, goTask); err != nil {
		return err
	}
	if err := a.startPruner(ctx, cfg, goTask); err != nil {
		return err
	}
	goTask("snapshot", a.snapshotLoop)
	goTask("watchdog", a.watchdogLoop)
	goTask("bootstrap", a.bootstrapLoop)
	return nil
}

// shutdown runs the graceful stop: tell systemd, leave the cluster, delete
// our record, then stop everything else in reverse start order. Every step
// has its own share of leave_timeout.
func (a *Agent) shutdown(stack *cleanupStack) {
	cfg := a.config()
	a.state.Store(StateLeaving)
	a.notify.Stopping()
	a.logger.Info("leaving the cluster", "timeout", cfg.LeaveTimeout)
	budget := cfg.LeaveTimeout

	leaveTimeout := budget * 2 / 5
	if err := a.cluster.Leave(leaveTimeout); err != nil {
		a.logger.Warn("leave broadcast did not finish; peers will detect us as dead instead", "error", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), budget*2/5)
	if err := a.registry.Deregister(ctx, a.identity.InstanceID); err != nil {
		a.logger.Warn("cannot delete our registry record; it is rewritten at our next start, or deleted by the cluster once we have been gone for registry.prune_after", "error", err)
	}
	cancel()
	a.state.Store(StateLeft)
	close(a.left)

	stack.runWithin(a.logger, budget/5)
	a.logger.Info("stopped")
}

// requestLeave makes Run leave and return; the local API calls it.
func (a *Agent) requestLeave() {
	a.leaveOnce.Do(func() { close(a.leaveReq) })
}

func (a *Agent) markReady(reason string) {
	a.readyOnce.Do(func() {
		a.state.Store(StateAlive)
		close(a.ready)
		a.notify.Ready()
		a.notify.Status(fmt.Sprintf("alive: %s", reason))
		a.logger.Info("ready", "reason", reason, "alive", a.cluster.NumAlive())
	})
}

// startLocalAPI opens the socket (with localapi's stale-file handling) and
// serves the local API until the cleanup stack stops it.
func (a *Agent) startLocalAPI(cfg *config.Config, stack *cleanupStack, goTask func(string, func(context.Context))) error {
	ln, err := localapi.Listen(cfg.Socket, cfg.SocketMode, cfg.SocketGroup)
	if err != nil {
		return fmt.Errorf("socket %s: %w", cfg.Socket, err)
	}
	srv := localapi.NewServer(a.backend(), a.logger.Named("localapi"))
	apiCtx, stopAPI := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Run(apiCtx, ln); err != nil {
			a.logger.Error("local API stopped", "error", err)
		}
	}()
	stack.push("local API", func(ctx context.Context) error {
		stopAPI()
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	a.logger.Info("local API listening", "socket", cfg.Socket)
	return nil
}
