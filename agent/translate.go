package agent

import (
	"context"
	"fmt"

	"github.com/hashicorp/go-hclog"
	"github.com/jonboulle/clockwork"

	"github.com/farmhand/farmhand/agent/config"
	"github.com/farmhand/farmhand/agent/coordinator"
	"github.com/farmhand/farmhand/agent/render"
	"github.com/farmhand/farmhand/bootstrap"
	"github.com/farmhand/farmhand/membership"
)

// The agent's configuration translated into each lower package's own
// Config. Pure functions: nothing here starts or reads anything.

// registryAttempts is the attempts per registry call (the first included).
// Every registry caller in the agent retries on its own schedule (the boot
// and isolation loops back off; leave and pruning are best effort), so one
// quick retry per call is enough: more would multiply the request rate of
// an outage by the loop's.
const registryAttempts = 2

// identityConfig translates the identity block.
func identityConfig(cfg *config.Config) bootstrap.IdentityConfig {
	id := cfg.Identity
	return bootstrap.IdentityConfig{
		Endpoint: id.IMDSEndpoint,
		Timeout:  id.IMDSTimeout,
		Override: bootstrap.Identity{
			InstanceID:       id.InstanceID,
			PrivateIP:        id.PrivateIP,
			AvailabilityZone: id.AvailabilityZone,
			Region:           id.Region,
			InstanceType:     id.InstanceType,
			AMI:              id.AMIID,
		},
	}
}

// registryConfig translates the registry block.
func registryConfig(cfg *config.Config, clock clockwork.Clock, logger hclog.Logger) bootstrap.RegistryConfig {
	rc := bootstrap.DefaultRegistryConfig()
	rc.Bucket = cfg.Registry.Bucket
	rc.Prefix = cfg.Registry.Prefix
	rc.Cluster = cfg.Cluster
	rc.Retry.MaxAttempts = registryAttempts
	rc.SigningKey = cfg.Registry.SigningKey
	rc.VerifyKeys = cfg.Registry.VerifyKeys
	rc.RequireSignature = cfg.Registry.RequireSignature
	rc.Clock = clock
	rc.Logger = logger
	return rc
}

// membershipConfig translates the gossip block. The caller sets Discover.
func membershipConfig(cfg *config.Config, n *node, clock clockwork.Clock, logger hclog.Logger) (*membership.Config, error) {
	var mc *membership.Config
	switch cfg.Gossip.Profile {
	case "", "lan":
		mc = membership.DefaultLANConfig()
	case "local":
		mc = membership.DefaultLocalConfig()
	default:
		return nil, fmt.Errorf("gossip.profile %q: want lan or local", cfg.Gossip.Profile)
	}
	mc.Name = n.identity.InstanceID
	mc.BindAddr = n.bindAddr()
	mc.BindPort = cfg.Gossip.Port
	mc.AdvertiseAddr = n.advertiseAddr()
	mc.AdvertisePort = cfg.Gossip.Port
	mc.Cluster = cfg.Cluster
	mc.Tags = n.tags()
	mc.Keys = cfg.Gossip.Keys
	// Timers the user did not set keep the profile's values: the local
	// profile's 500 ms reconnect interval must not become the LAN 30 s.
	if cfg.IsSet("gossip.reap_time") {
		mc.ReapTime = cfg.Gossip.ReapTime
	}
	if cfg.IsSet("gossip.reconnect_interval") {
		mc.ReconnectInterval = cfg.Gossip.ReconnectInterval
	}
	if cfg.IsSet("gossip.reconnect_timeout") {
		mc.ReconnectTimeout = cfg.Gossip.ReconnectTimeout
	}
	if cfg.IsSet("gossip.join_fanout") {
		mc.JoinFanout = cfg.Gossip.JoinFanout
	}
	mc.Clock = clock
	mc.Logger = logger
	return mc, nil
}

// coordinatorConfig translates the coordinator block. prefix is the
// registry's cluster prefix, where the lease and the ledger live; prune
// deletes a replaced node's record.
func coordinatorConfig(cfg *config.Config, prefix string, prune func(ctx context.Context, name string) error, clock clockwork.Clock, logger hclog.Logger) coordinator.Config {
	cc := coordinator.DefaultConfig()
	c := cfg.Coordinator
	cc.Cluster = cfg.Cluster
	cc.Bucket = cfg.Registry.Bucket
	cc.Prefix = prefix
	cc.Interval = c.Interval
	cc.DeadGrace = c.DeadGrace
	cc.BatchWindow = c.BatchWindow
	cc.SilentGrace = c.SilentGrace
	cc.StoppedGrace = c.StoppedGrace
	cc.OnRebalance = c.OnRebalance
	cc.NewInstanceGrace = c.NewInstanceGrace
	cc.FreezeThreshold = c.FreezeThreshold
	cc.MaxReplacements = c.MaxReplacements
	cc.ReplacementWindow = c.ReplacementWindow
	cc.LeaseTTL = c.LeaseTTL
	cc.DryRun = c.DryRun
	if r := cfg.Gossip.ReapTime; r > 0 && cc.Retention <= r {
		cc.Retention = 2 * r
	}
	for _, g := range c.Groups {
		cc.Groups = append(cc.Groups, coordinator.Group{
			Name: g.Name, Role: g.Role, Min: g.Min, Max: g.Max,
			LaunchTemplate: g.LaunchTemplate, LaunchTemplateVersion: g.LaunchTemplateVersion,
			ImageID: g.ImageID, InstanceType: g.InstanceType,
			Subnets: g.Subnets, SecurityGroups: g.SecurityGroups,
			InstanceProfile: g.InstanceProfile, KeyName: g.KeyName, UserData: g.UserData,
			Tags: g.Tags,
		})
	}
	cc.Clock = clock
	cc.Logger = logger
	cc.Prune = prune
	return cc
}

// renderSpecs translates the render blocks.
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

// imdsInUse reports whether this agent has an IMDS to read: the identity
// came (at least partly) from it, or identity.imds_endpoint names one. With
// every identity field set in the config and no endpoint (a laptop, a
// test) the drain watcher stays off rather than poll 169.254.169.254.
func imdsInUse(cfg *config.Config) bool {
	id := cfg.Identity
	return id.IMDSEndpoint != "" || id.InstanceID == "" || id.PrivateIP == "" || id.AvailabilityZone == "" ||
		id.InstanceType == "" || id.AMIID == ""
}
