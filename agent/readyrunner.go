package agent

import (
	"context"
	"errors"
	"sync"

	"github.com/hashicorp/go-hclog"

	"github.com/farmhand/farmhand/membership"
)

// runner is what a readyRunner runs: a render.Runner or a coordinator.
type runner interface {
	Run(ctx context.Context) error
}

// readyRunner runs one runner at a time once the agent is ready (so that
// its first pass sees the joined cluster, not this node alone), hands it
// every membership event through onEvent, and swaps it for another on
// reload. The render and coordinator parts are two.
type readyRunner[R runner] struct {
	ready   <-chan struct{}
	logger  hclog.Logger
	onEvent func(R)

	mu      sync.Mutex
	cluster *membership.Cluster
	cur     R
	has     bool // cur is set
	task    *task
	stopped bool
}

// errStoppedRunner is a swap after stop.
var errStoppedRunner = errors.New("the agent is stopping")

// start runs run (when has) on cluster.
func (r *readyRunner[R]) start(cluster *membership.Cluster, run R, has bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cluster = cluster
	r.runLocked(run, has)
}

func (r *readyRunner[R]) runLocked(run R, has bool) {
	r.cur, r.has = run, has
	if !has {
		return
	}
	ready, cluster, logger, onEvent := r.ready, r.cluster, r.logger, r.onEvent
	r.task = goTask(func(ctx context.Context) {
		runAfterReady(ctx, ready, cluster, logger, run.Run, func(membership.Event) { onEvent(run) })
	})
}

// swap stops the running one (waiting at most until ctx ends) and runs
// next (when has) instead. After stop it refuses.
func (r *readyRunner[R]) swap(ctx context.Context, next R, has bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return errStoppedRunner
	}
	if err := r.task.stop(ctx); err != nil {
		return err
	}
	r.task = nil
	r.runLocked(next, has)
	return nil
}

// stop ends the runner for good, waiting at most until ctx ends.
func (r *readyRunner[R]) stop(ctx context.Context) error {
	r.mu.Lock()
	r.stopped = true
	t := r.task
	r.mu.Unlock()
	return t.stop(ctx)
}

// current is the running one, if any.
func (r *readyRunner[R]) current() (R, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cur, r.has
}

// runAfterReady waits for ready, then runs run(ctx) while a second
// goroutine hands every membership event of cluster to onEvent. Both end
// with ctx; onEvent is only ever called from that one goroutine, which has
// exited when runAfterReady returns.
func runAfterReady(ctx context.Context, ready <-chan struct{}, cluster *membership.Cluster, logger hclog.Logger,
	run func(context.Context) error, onEvent func(membership.Event)) {
	select {
	case <-ctx.Done():
		return
	case <-ready:
	}
	events, cancel := cluster.Subscribe(64)
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
		logger.Error("stopped", "error", err)
	}
	<-done
}
