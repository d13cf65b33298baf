package config

import (
	"os"
	"path/filepath"
	"time"

	"github.com/farmhand/farmhand/agent/coordinator"
)

// Default returns the built-in defaults. Cluster and Registry.Bucket are
// empty and must be set; gossip needs keys or Insecure.
func Default() *Config {
	return &Config{
		DataDir:      "/var/lib/farmhand",
		Socket:       "/run/farmhand/farmhand.sock",
		SocketMode:   0o660,
		LogLevel:     "info",
		LeaveTimeout: 5 * time.Second,
		Role:         "worker",
		Tags:         map[string]string{},
		Identity:     DefaultIdentityConfig(),
		Gossip:       DefaultGossipConfig(),
		Registry:     DefaultRegistryConfig(),
		EC2:          DefaultEC2Config(),
		Coordinator:  DefaultCoordinatorConfig(),
		Drain:        DefaultDrainConfig(),
		origins:      map[string]string{},
	}
}

// DefaultDevConfig returns Default with the -dev preset applied: the
// "local" gossip profile, gossip without keys allowed, and data_dir under
// the temporary directory.
func DefaultDevConfig() *Config {
	return Default().Merge(devLayer())
}

// devLayer is the -dev preset as a layer; files, environment and flags
// override it.
func devLayer() *Config {
	c := Default()
	c.Gossip.Profile = "local"
	c.Gossip.Insecure = true
	c.DataDir = filepath.Join(os.TempDir(), "farmhand-dev")
	for _, p := range []string{"gossip.profile", "gossip.insecure", "data_dir"} {
		c.setOrigin(p, "flag -dev")
	}
	return c
}

// DefaultDrainConfig polls IMDS every 5 s, gives on_drain at most a minute,
// leaves 15 s before the deadline (a spot notice gives 2 minutes) and only
// warns of a rebalance recommendation.
func DefaultDrainConfig() DrainConfig {
	return DrainConfig{PollInterval: 5 * time.Second, OnDrainTimeout: time.Minute, LeaveBefore: 15 * time.Second, Rebalance: RebalanceWarn}
}

// The drain.rebalance policies.
const (
	RebalanceWarn  = "warn"
	RebalanceDrain = "drain"
)

// DefaultIdentityConfig asks IMDSv2 for everything.
func DefaultIdentityConfig() IdentityConfig {
	return IdentityConfig{IMDSTimeout: 10 * time.Second} // bootstrap.DefaultIdentityTimeout
}

// DefaultGossipConfig is the LAN profile on port 7946 with no key.
func DefaultGossipConfig() GossipConfig {
	return GossipConfig{
		Profile:           "lan",
		Port:              7946,
		ReapTime:          24 * time.Hour,
		ReconnectInterval: 30 * time.Second,
		ReconnectTimeout:  24 * time.Hour,
		JoinFanout:        3,
	}
}

// DefaultRegistryConfig has no bucket (it is required), prefix "farmhand"
// and prunes records of members gone for an hour, EC2-verified.
func DefaultRegistryConfig() RegistryConfig {
	return RegistryConfig{Prefix: "farmhand", PruneAfter: time.Hour, PruneCheckEC2: true}
}

// DefaultEC2Config uses the instance's region and the AWS endpoint.
func DefaultEC2Config() EC2Config {
	return EC2Config{}
}

// DefaultCoordinatorConfig is disabled, with the safety gates on. Its
// timings and gates are coordinator.DefaultConfig's: one set of defaults.
func DefaultCoordinatorConfig() CoordinatorConfig {
	d := coordinator.DefaultConfig()
	return CoordinatorConfig{
		Interval:          d.Interval,
		DeadGrace:         d.DeadGrace,
		BatchWindow:       d.BatchWindow,
		SilentGrace:       d.SilentGrace,
		StoppedGrace:      d.StoppedGrace,
		OnRebalance:       d.OnRebalance,
		NewInstanceGrace:  d.NewInstanceGrace,
		FreezeThreshold:   d.FreezeThreshold,
		MaxReplacements:   d.MaxReplacements,
		ReplacementWindow: d.ReplacementWindow,
		LeaseTTL:          d.LeaseTTL,
	}
}

// DefaultGroupConfig is group name with role name; Max (and a launch
// template or image) must still be set.
func DefaultGroupConfig(name string) GroupConfig {
	return GroupConfig{Name: name, Role: name, Tags: map[string]string{}}
}

// DefaultRenderConfig is render block name listing alive members; Template
// and Destination must still be set.
func DefaultRenderConfig(name string) RenderConfig {
	return RenderConfig{
		Name: name,
		// nil: every status; the built-in templates pick live or gone
		// members themselves (exclude lists need the dead ones).
		Status:        nil,
		Tags:          map[string]string{},
		Mode:          0o644,
		ReloadTimeout: 30 * time.Second,
		WaitMin:       2 * time.Second,
		WaitMax:       10 * time.Second,
		Stable:        5 * time.Second,
	}
}

// reset makes g the defaults of a group labelled name (used by the decoder
// and Merge for labelled blocks).
func (g *GroupConfig) reset(name string) { *g = DefaultGroupConfig(name) }

// reset makes r the defaults of a render block labelled name.
func (r *RenderConfig) reset(name string) { *r = DefaultRenderConfig(name) }

// HandlerEvents are the events a handler block may name.
var HandlerEvents = []string{"member-join", "member-leave", "member-failed", "member-update", "member-reap",
	"member-draining", "coordinator-decision"}

// DefaultHandlerConfig is handler block name, for every event, with a
// one-minute timeout; Command must still be set.
func DefaultHandlerConfig(name string) HandlerConfig {
	return HandlerConfig{Name: name, Timeout: time.Minute}
}

// reset makes h the defaults of a handler block labelled name.
func (h *HandlerConfig) reset(name string) { *h = DefaultHandlerConfig(name) }
