package agent

import (
	"context"
	"fmt"
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
	readyRunner[*render.Runner]
	clock clockwork.Clock
	// view is the cluster the runners render; set by start, read by the
	// runners without the readyRunner's lock, which a swap holds while a
	// runner finishes.
	view atomic.Pointer[membership.Cluster]
}

func newRenderRunner(ready <-chan struct{}, clock clockwork.Clock, logger hclog.Logger) *renderRunner {
	r := &renderRunner{clock: clock}
	r.readyRunner = readyRunner[*render.Runner]{ready: ready, logger: logger, onEvent: (*render.Runner).Notify}
	return r
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
	rc.View = func() ([]membership.Member, membership.Member) {
		c := r.view.Load()
		return c.Members(), c.LocalMember()
	}
	rc.Clock = r.clock
	rc.Logger = r.logger
	run, err := render.NewRunner(rc)
	if err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	return run, nil
}

// start runs the compiled blocks (nil: none) on cluster.
func (r *renderRunner) start(c *membership.Cluster, run *render.Runner) {
	r.view.Store(c)
	r.readyRunner.start(c, run, run != nil)
}

// swap runs next (nil: none) in place of the running blocks.
func (r *renderRunner) swap(ctx context.Context, next *render.Runner) error {
	if err := r.readyRunner.swap(ctx, next, next != nil); err != nil {
		return fmt.Errorf("render: %w", err)
	}
	return nil
}

// status is the blocks' status; ok is false without render blocks.
func (r *renderRunner) status() ([]render.TargetStatus, bool) {
	run, ok := r.current()
	if !ok {
		return nil, false
	}
	return run.Status(), true
}
