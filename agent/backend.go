package agent

import (
	"context"
	"net/http"

	"github.com/farmhand/farmhand/agent/coordinator"
	"github.com/farmhand/farmhand/agent/localapi"
	"github.com/farmhand/farmhand/agent/render"
	"github.com/farmhand/farmhand/bootstrap"
	"github.com/farmhand/farmhand/membership"
)

// backend adapts the Agent to the local API. It is a separate type so the
// Agent's exported surface stays small.
type backend struct{ a *Agent }

func (a *Agent) backend() *backend { return &backend{a: a} }

var _ localapi.Backend = (*backend)(nil)

func (b *backend) Status(ctx context.Context) (localapi.Status, error) {
	a := b.a
	cfg := a.config()
	rs := a.registry.Stats()
	ms := a.cluster.Stats()
	return localapi.Status{
		Name:       a.identity.InstanceID,
		Cluster:    cfg.Cluster,
		Addr:       a.advertiseAddr(),
		Port:       cfg.Gossip.Port,
		State:      a.State(),
		Version:    Version,
		Identity:   a.identity,
		Tags:       a.tags(),
		StartedAt:  a.startedAt,
		LastChange: a.cluster.LastChange(),
		Counts:     statusCounts(ms),
		S3:         s3Counts(rs),
		Joins:      int64(ms.Joins),
		Reconnects: int64(ms.Reconnects),
	}, nil
}

func (b *backend) Members(ctx context.Context) ([]membership.Member, error) {
	return b.a.cluster.Members(), nil
}

// Leave makes the agent leave gracefully and returns once it has left the
// cluster and deleted its record; the agent then stops and exits.
func (b *backend) Leave(ctx context.Context) error {
	b.a.requestLeave()
	select {
	case <-b.a.left:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (b *backend) Reload(ctx context.Context) error {
	return b.a.ReloadFromSource()
}

var (
	_ localapi.Coordinator = (*backend)(nil)
	_ localapi.Renderer    = (*backend)(nil)
)

func (b *backend) coord() (*coordinator.Coordinator, error) {
	if b.a.coordinator == nil {
		return nil, localapi.Errorf(http.StatusNotImplemented, "this agent does not run the coordinator (set coordinator { enabled = true } on the agents that should)")
	}
	return b.a.coordinator, nil
}

func (b *backend) CoordinatorStatus(ctx context.Context) (coordinator.Status, error) {
	c, err := b.coord()
	if err != nil {
		return coordinator.Status{}, err
	}
	return c.Status(), nil
}

func (b *backend) CoordinatorHistory(ctx context.Context, n int) ([]coordinator.Decision, error) {
	c, err := b.coord()
	if err != nil {
		return nil, err
	}
	return c.History(n), nil
}

func (b *backend) CoordinatorPlan(ctx context.Context) (coordinator.Plan, error) {
	c, err := b.coord()
	if err != nil {
		return coordinator.Plan{}, err
	}
	return c.Plan(ctx)
}

func (b *backend) RenderStatus(ctx context.Context) ([]render.TargetStatus, error) {
	if b.a.renderer == nil {
		return nil, localapi.Errorf(http.StatusNotImplemented, "this agent has no render blocks in its config")
	}
	return b.a.renderer.Status(), nil
}

// statusCounts is the view's member count by status, every status present.
func statusCounts(ms membership.Stats) map[string]int {
	return map[string]int{
		string(membership.StatusAlive):   ms.Alive,
		string(membership.StatusSuspect): ms.Suspect,
		string(membership.StatusDead):    ms.Dead,
		string(membership.StatusLeft):    ms.Left,
	}
}

// s3Counts is the registry's S3 requests by kind.
func s3Counts(rs bootstrap.RegistryStats) map[string]int64 {
	return map[string]int64{"put": rs.Put, "list": rs.List, "get": rs.Get, "delete": rs.Delete}
}
