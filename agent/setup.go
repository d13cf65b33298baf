package agent

import (
	"context"
	"fmt"
	"maps"

	"github.com/farmhand/farmhand/agent/config"
	"github.com/farmhand/farmhand/bootstrap"
	"github.com/farmhand/farmhand/membership"
)

// identityConfig translates the agent config into bootstrap's.
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

// startRegistry builds the S3 client (unless Options gave one) and the
// registry. It makes no S3 request.
func (a *Agent) startRegistry(ctx context.Context) error {
	cfg := a.config()
	api := a.opts.S3
	if api == nil {
		region := cfg.Registry.Region
		if region == "" {
			region = a.identity.Region
		}
		c, err := bootstrap.NewS3Client(ctx, bootstrap.S3Config{
			Region:    region,
			Endpoint:  cfg.Registry.Endpoint,
			PathStyle: cfg.Registry.PathStyle,
			// Requests leave from the gossip address; the identity is
			// known by now.
			HTTPClient: bootstrap.NewAWSHTTPClient(a.advertiseAddr()),
		})
		if err != nil {
			return fmt.Errorf("registry: %w", err)
		}
		api = c
	}
	a.s3 = api
	rc := bootstrap.DefaultRegistryConfig()
	rc.Bucket = cfg.Registry.Bucket
	rc.Prefix = cfg.Registry.Prefix
	rc.Cluster = cfg.Cluster
	// Every registry caller in the agent retries on its own schedule (the
	// bootstrap and isolation loops back off; leave and pruning are best
	// effort), so one quick retry per call is enough: more would multiply
	// the request rate of an outage by the loop's.
	rc.Backoff.MaxAttempts = registryAttempts
	rc.SigningKey = cfg.Registry.SigningKey
	rc.VerifyKeys = cfg.Registry.VerifyKeys
	rc.RequireSignature = cfg.Registry.RequireSignature
	rc.Clock = a.clock
	rc.Logger = a.logger.Named("registry")
	reg, err := bootstrap.NewRegistry(api, rc)
	if err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	a.registry = reg
	return nil
}

// membershipConfig translates the agent config into membership's.
func (a *Agent) membershipConfig(cfg *config.Config) (*membership.Config, error) {
	var mc *membership.Config
	switch cfg.Gossip.Profile {
	case "", "lan":
		mc = membership.DefaultLANConfig()
	case "local":
		mc = membership.DefaultLocalConfig()
	default:
		return nil, fmt.Errorf("gossip.profile %q: want lan or local", cfg.Gossip.Profile)
	}
	mc.Name = a.identity.InstanceID
	mc.BindAddr = a.bindAddr()
	mc.BindPort = cfg.Gossip.Port
	mc.AdvertiseAddr = a.advertiseAddr()
	mc.AdvertisePort = cfg.Gossip.Port
	mc.Cluster = cfg.Cluster
	mc.Tags = a.tags()
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
	mc.Clock = a.clock
	mc.Logger = a.logger.Named("membership")
	mc.Discover = a.discoverOnceJoined
	return mc, nil
}

func (a *Agent) startMembership(cfg *config.Config) error {
	mc, err := a.membershipConfig(cfg)
	if err != nil {
		return err
	}
	c, err := membership.Create(mc)
	if err != nil {
		return fmt.Errorf("gossip on %s:%d: %w", mc.BindAddr, mc.BindPort, err)
	}
	a.cluster = c
	a.logger.Info("gossip listening", "addr", mc.BindAddr, "port", mc.BindPort, "encrypted", len(mc.Keys) > 0)
	return nil
}

// bindAddr is gossip.bind_addr, else the identity's private IP.
func (a *Agent) bindAddr() string {
	if b := a.config().Gossip.BindAddr; b != "" {
		return b
	}
	return a.identity.PrivateIP
}

// advertiseAddr is the address peers reach us on: the private IP, unless
// gossip binds a specific address (then that one).
func (a *Agent) advertiseAddr() string {
	b := a.config().Gossip.BindAddr
	if b != "" && b != "0.0.0.0" {
		return b
	}
	return a.identity.PrivateIP
}

// tags are the member metadata: user tags, then role, az and instance type.
func (a *Agent) tags() map[string]string {
	cfg := a.config()
	t := make(map[string]string, len(cfg.Tags)+3)
	maps.Copy(t, cfg.Tags)
	if cfg.Role != "" {
		t["role"] = cfg.Role
	}
	if a.identity.AvailabilityZone != "" {
		t["az"] = a.identity.AvailabilityZone
	}
	if a.identity.InstanceType != "" {
		t["instance_type"] = a.identity.InstanceType
	}
	return t
}

// discoverOnceJoined is membership's isolation rediscovery. Until the
// bootstrap loop has joined (READY may come earlier: after the S3 deadline,
// or when no candidate answered) that loop is already discovering with its
// own backoff; a second loop would only double the S3 traffic (during an
// outage, the retries).
func (a *Agent) discoverOnceJoined(ctx context.Context) ([]string, error) {
	select {
	case <-a.joined:
		return a.discover(ctx)
	default:
		return nil, nil
	}
}
