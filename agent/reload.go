package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/farmhand/farmhand/agent/config"
	"github.com/farmhand/farmhand/agent/coordinator"
	"github.com/farmhand/farmhand/agent/render"
	"github.com/farmhand/farmhand/bootstrap"
	"github.com/farmhand/farmhand/membership"
)

// Errors of a reload that could not be tried.
var (
	errNoLoader = errors.New("reload: this agent was started without a config source (Options.Loader)")
	errStarting = errors.New("reload: the agent is still starting; try again once it is up")
	errStopping = errors.New("reload: the agent is stopping")
	// errInvalid is a configuration that does not load or validate.
	errInvalid = errors.New("reload: invalid configuration, the running one is kept")
	// errRefused is a change that needs a restart, or that cannot be
	// applied (a template that does not compile, a port in use...).
	errRefused = errors.New("reload refused, the running configuration is kept")
)

// ReloadResult says what a reload applied.
type ReloadResult struct {
	// Applied lists the changed fields, all applied live; empty when the
	// configuration did not change.
	Applied []string
}

// String is the one line the log and the local API give.
func (r ReloadResult) String() string {
	if len(r.Applied) == 0 {
		return "configuration reloaded: nothing changed"
	}
	return "configuration reloaded: applied " + strings.Join(r.Applied, ", ")
}

// reloader applies a new configuration to the running agent (SIGHUP and
// POST /v1/reload). Every changed field is either applied live or, when
// config.DiffReload says it needs a restart, the whole reload is refused
// with one line per such field, and nothing is applied. Reloads run one at
// a time; once stop has returned none runs again.
type reloader struct {
	// sem admits one reload at a time; stop takes it for good.
	sem chan struct{}
	// ctx ends the requests a reload makes when the agent stops.
	ctx    context.Context
	cancel context.CancelFunc

	loader   func() (*config.Config, error)
	cfg      *current
	node     *node
	cluster  *membership.Cluster
	registry *bootstrap.Registry
	metrics  *metricsServer
	coord    *coordinatorRunner
	render   *renderRunner
	notify   notifier
	logger   hclog.Logger
}

// reloadFromSource re-reads the configuration through the loader (the same
// files, directory, environment and flags as at start) and applies it.
func (r *reloader) reloadFromSource() (ReloadResult, error) {
	if r.loader == nil {
		return ReloadResult{}, errNoLoader
	}
	next, err := r.loader()
	if err != nil {
		err = fmt.Errorf("%w: %w", errInvalid, err)
		r.logger.Error("reload failed: the running configuration is kept", "error", err)
		return ReloadResult{}, err
	}
	return r.reload(next)
}

// reload applies next, or refuses it whole.
func (r *reloader) reload(next *config.Config) (ReloadResult, error) {
	select {
	case r.sem <- struct{}{}:
		defer func() { <-r.sem }()
	case <-r.ctx.Done():
		return ReloadResult{}, errStopping
	}
	if r.ctx.Err() != nil {
		return ReloadResult{}, errStopping
	}
	r.notify.Reloading()
	defer r.notify.Ready()
	ch, err := r.apply(next)
	res := ReloadResult{Applied: ch.Fields}
	if err != nil {
		r.logger.Error("reload failed: the running configuration is kept", "error", err)
		return res, err
	}
	r.logger.Info("configuration reloaded", "applied", strings.Join(ch.Fields, " "), "tags", ch.Tags, "log_level", ch.LogLevel,
		"keys", ch.Keys, "metrics", ch.Metrics, "coordinator", ch.Coordinator, "render", ch.Render)
	return res, nil
}

// apply prepares what can fail without touching the running agent (compile
// render blocks, build the coordinator, open the metrics listener), then
// changes the running agent: tags, keys, and the prepared parts.
// A refused reload reports no changes.
func (r *reloader) apply(next *config.Config) (config.ReloadChanges, error) {
	none := config.ReloadChanges{}
	if err := next.Validate(); err != nil {
		return none, fmt.Errorf("%w: %w", errInvalid, err)
	}
	prev := r.cfg.get()
	ch, err := config.DiffReload(prev, next)
	if err != nil {
		return none, fmt.Errorf("%w: %w", errRefused, err)
	}
	if len(ch.Fields) == 0 {
		r.cfg.set(next)
		return ch, nil
	}

	// Prepare. Nothing here changes the running agent.
	var (
		renderNext *render.Runner
		coordNext  *coordinator.Coordinator
		metricsLn  net.Listener
	)
	if ch.Render {
		if renderNext, err = r.render.compile(next); err != nil {
			return none, fmt.Errorf("%w: %w", errRefused, err)
		}
	}
	if ch.Coordinator {
		if coordNext, err = r.coord.build(r.ctx, next); err != nil {
			return none, fmt.Errorf("%w: %w", errRefused, err)
		}
	}
	if ch.Metrics && next.MetricsAddr != "" {
		if metricsLn, err = listenMetrics(next.MetricsAddr); err != nil {
			return none, fmt.Errorf("%w: %w", errRefused, err)
		}
	}
	abandon := func() {
		if metricsLn != nil {
			metricsLn.Close()
		}
	}

	// Apply: tags and keys first (either can still fail), then the rest.
	if ch.Tags {
		if err := r.cluster.UpdateTags(r.node.tagsFor(next)); err != nil {
			abandon()
			return none, fmt.Errorf("%w: tags: %w", errRefused, err)
		}
	}
	if ch.Keys {
		if err := r.cluster.SetKeys(next.Gossip.Keys); err != nil {
			if ch.Tags {
				_ = r.cluster.UpdateTags(r.node.tags()) // back to the running ones
			}
			abandon()
			return none, fmt.Errorf("%w: gossip keys: %w", errRefused, err)
		}
	}
	r.cfg.set(next)
	if ch.LogLevel {
		r.logger.SetLevel(hclog.LevelFromString(next.LogLevel))
	}
	var errs []error
	if ch.Metrics {
		if metricsLn != nil {
			errs = append(errs, r.metrics.serve(r.ctx, metricsLn))
		} else {
			errs = append(errs, r.metrics.stop(r.ctx))
		}
	}
	if ch.Render {
		errs = append(errs, r.render.swap(r.ctx, renderNext))
	}
	if ch.Coordinator {
		errs = append(errs, r.coord.swap(r.ctx, coordNext))
	}
	if ch.Tags {
		// The record carries the tags: rewrite it (the registry skips the
		// request when nothing changed).
		ctx, cancel := context.WithTimeout(r.ctx, 10*time.Second)
		if err := r.registry.Register(ctx, r.node.record()); err != nil {
			r.logger.Warn("tags updated in gossip but not yet in the registry record", "error", err)
		}
		cancel()
	}
	if err := errors.Join(errs...); err != nil {
		// Only a stop racing the reload gets here: the configuration is
		// the new one, the part that failed is stopping anyway.
		return ch, fmt.Errorf("reload: applied %s, but: %w", strings.Join(ch.Fields, ", "), err)
	}
	return ch, nil
}

// stop refuses every reload from now on, ending the requests of one under
// way, and waits for it, at most until ctx ends.
func (r *reloader) stop(ctx context.Context) error {
	r.cancel()
	select {
	case r.sem <- struct{}{}: // held for good
		return nil
	case <-ctx.Done():
		return fmt.Errorf("a reload is still running: %w", ctx.Err())
	}
}
