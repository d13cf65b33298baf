package agent

import (
	"context"

	"github.com/hashicorp/go-hclog"

	"github.com/farmhand/farmhand/membership"
)

// runAfterReady waits for ready, then runs run(ctx) while a second
// goroutine hands every membership event of cluster to onEvent. Both end
// with ctx; onEvent is only ever called from that one goroutine, which has
// exited when runAfterReady returns. The render and coordinator runners
// use it: their first pass should see the joined cluster, not this node
// alone.
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
