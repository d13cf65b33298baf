package agent

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"
	"github.com/jonboulle/clockwork"

	"github.com/farmhand/farmhand/agent/config"
	"github.com/farmhand/farmhand/agent/render"
	"github.com/farmhand/farmhand/membership"
)

// renderRunner runs the render blocks once the agent is ready (so the first
// files list the cluster, not just this node), feeds them every view
// change, and swaps in a new set of blocks on reload.
type renderRunner struct {
	ready  <-chan struct{}
	clock  clockwork.Clock
	logger hclog.Logger

	// cluster is set by start; the runners' view reads it without mu,
	// which swap holds while a runner finishes.
	cluster atomic.Pointer[membership.Cluster]

	mu      sync.Mutex
	runner  *render.Runner // nil without render blocks
	task    *task
	stopped bool
}

// compile builds a runner for cfg's render blocks, so that a bad template
// fails before anything starts (or fails the reload), naming its block. It
// returns nil when there are none. It starts nothing.
func (r *renderRunner) compile(cfg *config.Config) (*render.Runner, error) {
	if len(cfg.Render) == 0 {
		return nil, nil
	}
	rc := render.DefaultRunnerConfig()
	rc.Cluster = cfg.Cluster
	rc.Targets = renderSpecs(cfg.Render)
	rc.View = r.view
	rc.Clock = r.clock
	rc.Logger = r.logger
	run, err := render.NewRunner(rc)
	if err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	return run, nil
}

func (r *renderRunner) view() ([]membership.Member, membership.Member) {
	c := r.cluster.Load()
	return c.Members(), c.LocalMember()
}

// start runs the compiled runner (nil: nothing to run) on cluster.
func (r *renderRunner) start(c *membership.Cluster, run *render.Runner) {
	r.cluster.Store(c)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.runLocked(run)
}

func (r *renderRunner) runLocked(run *render.Runner) {
	r.runner = run
	if run == nil {
		return
	}
	c, ready, logger := r.cluster.Load(), r.ready, r.logger
	r.task = goTask(func(ctx context.Context) {
		runAfterReady(ctx, ready, c, logger, run.Run, func(membership.Event) { run.Notify() })
	})
}

// swap stops the running blocks (waiting at most until ctx ends) and runs
// next instead. After stop it does nothing.
func (r *renderRunner) swap(ctx context.Context, next *render.Runner) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return fmt.Errorf("render: the agent is stopping")
	}
	if err := r.task.stop(ctx); err != nil {
		return fmt.Errorf("render: the running blocks did not stop: %w", err)
	}
	r.task = nil
	r.runLocked(next)
	return nil
}

// stop ends the runner for good, waiting at most until ctx ends.
func (r *renderRunner) stop(ctx context.Context) error {
	r.mu.Lock()
	r.stopped = true
	t := r.task
	r.mu.Unlock()
	return t.stop(ctx)
}

// status is the blocks' status; ok is false without render blocks.
func (r *renderRunner) status() (sts []render.TargetStatus, ok bool) {
	r.mu.Lock()
	run := r.runner
	r.mu.Unlock()
	if run == nil {
		return nil, false
	}
	return run.Status(), true
}
