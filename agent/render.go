package agent

import (
	"context"
	"fmt"

	"github.com/farmhand/farmhand/agent/config"
	"github.com/farmhand/farmhand/agent/render"
	"github.com/farmhand/farmhand/membership"
)

// renderSpecs translates the config's render blocks.
func renderSpecs(blocks []config.RenderConfig) []render.Spec {
	specs := make([]render.Spec, 0, len(blocks))
	for _, b := range blocks {
		s := render.DefaultSpec()
		s.Name = b.Name
		s.Template = b.Template
		s.Destination = b.Destination
		s.Filter = render.Filter{Status: statuses(b.Status), Role: b.Role, Tags: b.Tags}
		if b.Mode != 0 {
			s.Mode = b.Mode
		}
		s.Owner, s.Group = b.Owner, b.Group
		s.ReloadCommand = b.ReloadCommand
		if b.ReloadTimeout > 0 {
			s.ReloadTimeout = b.ReloadTimeout
		}
		s.WaitMin, s.WaitMax, s.Stable = b.WaitMin, b.WaitMax, b.Stable
		specs = append(specs, s)
	}
	return specs
}

func statuses(ss []string) []membership.Status {
	out := make([]membership.Status, 0, len(ss))
	for _, s := range ss {
		out = append(out, membership.Status(s))
	}
	return out
}

// newRenderer compiles the render blocks (so a bad template fails the start,
// naming its block) or returns nil when there are none.
func (a *Agent) newRenderer(cfg *config.Config) (*render.Runner, error) {
	if len(cfg.Render) == 0 {
		return nil, nil
	}
	rc := render.DefaultRunnerConfig()
	rc.Cluster = cfg.Cluster
	rc.Targets = renderSpecs(cfg.Render)
	rc.View = func() ([]membership.Member, membership.Member) {
		return a.cluster.Members(), a.cluster.LocalMember()
	}
	rc.Clock = a.clock
	rc.Logger = a.logger.Named("render")
	r, err := render.NewRunner(rc)
	if err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	return r, nil
}

// renderLoop runs the renderer once the agent is ready (so the first file
// lists the cluster, not just this node) and feeds it every view change.
func (a *Agent) renderLoop(ctx context.Context) {
	a.runAfterReady(ctx, "renderer", a.renderer.Run, func(membership.Event) { a.renderer.Notify() })
}
