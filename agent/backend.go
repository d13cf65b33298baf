package agent

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/farmhand/farmhand/agent/coordinator"
	"github.com/farmhand/farmhand/agent/localapi"
	"github.com/farmhand/farmhand/agent/render"
	"github.com/farmhand/farmhand/bootstrap"
	"github.com/farmhand/farmhand/membership"
)

// backend answers the local API from the agent's parts. It holds the parts
// it reads, not the Agent, so the Agent's exported surface stays small.
type backend struct {
	cfg      *current
	node     *node
	ready    *readiness
	registry *bootstrap.Registry
	cluster  *membership.Cluster
	coord    *coordinatorRunner
	render   *renderRunner
	// drain is the drain watcher; set before the agent is ready.
	drain *drainWatcher
	// leave makes the agent leave and returns once it has left and
	// deleted its record (or ctx ended).
	leave func(ctx context.Context) error
	// reload re-reads and applies the configuration.
	reload func() (ReloadResult, error)
}

var (
	_ localapi.Backend       = (*backend)(nil)
	_ localapi.Coordinator   = (*backend)(nil)
	_ localapi.Renderer      = (*backend)(nil)
	_ localapi.BucketChecker = (*backend)(nil)
	_ localapi.Watcher       = (*backend)(nil)
)

func (b *backend) Status(ctx context.Context) (localapi.Status, error) {
	cfg := b.cfg.get()
	rs := b.registry.Stats()
	ms := b.cluster.Stats()
	return localapi.Status{
		Name:       b.node.identity.InstanceID,
		Cluster:    cfg.Cluster,
		Addr:       b.node.advertiseAddr(),
		Port:       cfg.Gossip.Port,
		State:      b.ready.get(),
		Version:    Version,
		Identity:   b.node.identity,
		Tags:       b.node.tags(),
		StartedAt:  b.node.startedAt,
		LastChange: b.cluster.LastChange(),
		Counts:     statusCounts(ms),
		S3:         s3Counts(rs),
		Joins:      int64(ms.Joins),
		Reconnects: int64(ms.Reconnects),
		Drain:      b.drain.status(),
	}, nil
}

func (b *backend) Members(ctx context.Context) ([]membership.Member, error) {
	return b.cluster.Members(), nil
}

// Index is the member view's index (membership.Cluster.Index).
func (b *backend) Index() uint64 { return b.cluster.Index() }

// WaitIndex blocks until the view's index differs from after, or ctx ends.
func (b *backend) WaitIndex(ctx context.Context, after uint64) uint64 {
	return b.cluster.WaitIndex(ctx, after)
}

// Leave makes the agent leave gracefully and returns once it has left the
// cluster and deleted its record; the agent then stops and exits.
func (b *backend) Leave(ctx context.Context) error { return b.leave(ctx) }

// Reload applies the configuration from its source. A refused reload is a
// 409 whose message names each field that needs a restart; a configuration
// that does not load is a 422.
func (b *backend) Reload(ctx context.Context) (localapi.ReloadResponse, error) {
	res, err := b.reload()
	switch {
	case errors.Is(err, errRefused):
		return localapi.ReloadResponse{}, localapi.Errorf(http.StatusConflict, "%v", err)
	case errors.Is(err, errInvalid):
		return localapi.ReloadResponse{}, localapi.Errorf(http.StatusUnprocessableEntity, "%v", err)
	case errors.Is(err, errStarting) || errors.Is(err, errStopping):
		return localapi.ReloadResponse{}, localapi.Errorf(http.StatusServiceUnavailable, "%v", err)
	case err != nil:
		return localapi.ReloadResponse{}, err
	}
	return localapi.ReloadResponse{Message: res.String(), Applied: res.Applied}, nil
}

func (b *backend) coordinator() (*coordinator.Coordinator, error) {
	if c, ok := b.coord.current(); ok {
		return c, nil
	}
	return nil, localapi.Errorf(http.StatusNotImplemented, "this agent does not run the coordinator (set coordinator { enabled = true } on the agents that should)")
}

func (b *backend) CoordinatorStatus(ctx context.Context) (coordinator.Status, error) {
	c, err := b.coordinator()
	if err != nil {
		return coordinator.Status{}, err
	}
	return c.Status(), nil
}

func (b *backend) CoordinatorHistory(ctx context.Context, n int) ([]coordinator.Decision, error) {
	c, err := b.coordinator()
	if err != nil {
		return nil, err
	}
	return c.History(n), nil
}

func (b *backend) CoordinatorPlan(ctx context.Context) (coordinator.Plan, error) {
	c, err := b.coordinator()
	if err != nil {
		return coordinator.Plan{}, err
	}
	return c.Plan(ctx)
}

func (b *backend) RenderStatus(ctx context.Context) ([]render.TargetStatus, error) {
	sts, ok := b.render.status()
	if !ok {
		return nil, localapi.Errorf(http.StatusNotImplemented, "this agent has no render blocks in its config")
	}
	return sts, nil
}

// CheckBucket sends one HEAD to the registry's bucket, bounded to 10 s.
func (b *backend) CheckBucket(ctx context.Context) (bootstrap.BucketStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return b.registry.HeadBucket(ctx), nil
}
