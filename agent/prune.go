package agent

import (
	"context"
	"fmt"

	"github.com/hashicorp/go-hclog"
	"github.com/jonboulle/clockwork"

	"github.com/farmhand/farmhand/agent/config"
	"github.com/farmhand/farmhand/agent/coordinator"
	"github.com/farmhand/farmhand/bootstrap"
	"github.com/farmhand/farmhand/bootstrap/awscall"
	"github.com/farmhand/farmhand/membership"
)

// pruner runs the stale-record pruner (bootstrap.Pruner) once the agent
// is ready; only the alive member with the lowest name ever sends a
// request. It is nil when registry.prune_after is 0.
type pruner struct {
	task *task
}

// newPruner builds the pruner (nil when registry.prune_after is 0); it
// starts nothing.
func newPruner(ctx context.Context, cfg *config.Config, n *node, reg *bootstrap.Registry, cluster *membership.Cluster,
	clock clockwork.Clock, logger hclog.Logger) (*bootstrap.Pruner, error) {
	if cfg.Registry.PruneAfter <= 0 {
		return nil, nil
	}
	pc := bootstrap.PruneConfig{
		After:   cfg.Registry.PruneAfter,
		Self:    n.identity.InstanceID,
		Members: func() []bootstrap.GoneMember { return goneMembers(cluster) },
		Clock:   clock,
		Logger:  logger,
	}
	if cfg.Registry.PruneCheckEC2 {
		ec, err := newEC2Client(ctx, cfg, n.identity, n.advertiseAddr())
		if err != nil {
			return nil, fmt.Errorf("registry.prune_check_ec2: %w", err)
		}
		pc.States = instanceStates(ec)
	}
	return bootstrap.NewPruner(reg, pc)
}

// start runs p (when not nil) once ready is closed.
func (pr *pruner) start(p *bootstrap.Pruner, ready <-chan struct{}) {
	if p == nil {
		return
	}
	pr.task = goTask(func(ctx context.Context) {
		select {
		case <-ctx.Done():
		case <-ready:
			p.Run(ctx)
		}
	})
}

// stop ends the pruner, waiting at most until ctx ends.
func (pr *pruner) stop(ctx context.Context) error { return pr.task.stop(ctx) }

// goneMembers is the gossip view as the pruner sees it.
func goneMembers(cluster *membership.Cluster) []bootstrap.GoneMember {
	ms := cluster.Members()
	out := make([]bootstrap.GoneMember, len(ms))
	for i, m := range ms {
		out[i] = bootstrap.GoneMember{
			Name:  m.Name,
			Alive: m.Status == membership.StatusAlive,
			Gone:  m.Status == membership.StatusDead || m.Status == membership.StatusLeft,
			Since: m.Since,
		}
	}
	return out
}

// instanceStates asks EC2 for the states of instances
// (coordinator.InstanceStates: an unknown id is absent). A refusal by IAM
// is bootstrap.ErrEC2NotAllowed.
func instanceStates(api coordinator.EC2API) bootstrap.InstanceStates {
	return func(ctx context.Context, ids []string) (map[string]string, error) {
		states, err := coordinator.InstanceStates(ctx, api, ids)
		if awscall.Is(err, awscall.AccessDenied) {
			return nil, fmt.Errorf("%w: %v", bootstrap.ErrEC2NotAllowed, err)
		}
		return states, err
	}
}
