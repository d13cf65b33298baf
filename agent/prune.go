package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/smithy-go"

	"github.com/farmhand/farmhand/agent/config"
	"github.com/farmhand/farmhand/agent/coordinator"
	"github.com/farmhand/farmhand/bootstrap"
	"github.com/farmhand/farmhand/membership"
)

// startPruner starts the stale-record pruner (bootstrap.Pruner) unless
// registry.prune_after is 0. It runs once the agent is ready; only the
// alive member with the lowest name ever sends a request.
func (a *Agent) startPruner(ctx context.Context, cfg *config.Config, goTask func(string, func(context.Context))) error {
	if cfg.Registry.PruneAfter <= 0 {
		return nil
	}
	pc := bootstrap.PruneConfig{
		After:   cfg.Registry.PruneAfter,
		Self:    a.identity.InstanceID,
		Members: a.goneMembers,
		Clock:   a.clock,
		Logger:  a.logger.Named("prune"),
	}
	if cfg.Registry.PruneCheckEC2 {
		ec, err := newEC2Client(ctx, cfg, a.identity, a.advertiseAddr())
		if err != nil {
			return fmt.Errorf("registry.prune_check_ec2: %w", err)
		}
		pc.States = instanceStates(ec)
	}
	p, err := bootstrap.NewPruner(a.registry, pc)
	if err != nil {
		return err
	}
	goTask("prune", func(ctx context.Context) {
		select {
		case <-ctx.Done():
		case <-a.ready:
			p.Run(ctx)
		}
	})
	return nil
}

// goneMembers is the gossip view as the pruner sees it.
func (a *Agent) goneMembers() []bootstrap.GoneMember {
	ms := a.cluster.Members()
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
		if notAllowed(err) {
			return nil, fmt.Errorf("%w: %v", bootstrap.ErrEC2NotAllowed, err)
		}
		return states, err
	}
}

// notAllowed reports an EC2 refusal by IAM (UnauthorizedOperation, or an
// AccessDenied error).
func notAllowed(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	return ae.ErrorCode() == "UnauthorizedOperation" || strings.HasPrefix(ae.ErrorCode(), "AccessDenied")
}
