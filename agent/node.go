package agent

import (
	"maps"
	"sync/atomic"
	"time"

	"github.com/farmhand/farmhand/agent/config"
	"github.com/farmhand/farmhand/agent/coordinator"
	"github.com/farmhand/farmhand/bootstrap"
)

// node is this instance as the agent presents it to its peers: identity,
// addresses, member tags and registry record. What comes from the
// configuration is read from the running one, so a reloaded role or tag
// shows at once.
type node struct {
	identity  bootstrap.Identity
	startedAt time.Time
	cfg       *current
	// rebalance is set once IMDS gave a rebalance recommendation: the
	// member then carries coordinator.MemberTagRebalance, which the
	// coordinator's on_rebalance policy reads.
	rebalance atomic.Bool
}

// bindAddr is gossip.bind_addr, else the identity's private IP.
func (n *node) bindAddr() string {
	if b := n.cfg.get().Gossip.BindAddr; b != "" {
		return b
	}
	return n.identity.PrivateIP
}

// advertiseAddr is the address peers reach us on: the private IP, unless
// gossip binds a specific address (then that one).
func (n *node) advertiseAddr() string {
	b := n.cfg.get().Gossip.BindAddr
	if b != "" && b != "0.0.0.0" {
		return b
	}
	return n.identity.PrivateIP
}

// tags are the member metadata under the running configuration.
func (n *node) tags() map[string]string { return n.tagsFor(n.cfg.get()) }

// tagsFor are the member metadata under cfg (a reload's next
// configuration): nodeTags, and the rebalance tag once announced.
func (n *node) tagsFor(cfg *config.Config) map[string]string {
	t := nodeTags(cfg, n.identity)
	if n.rebalance.Load() {
		t[coordinator.MemberTagRebalance] = "1"
	}
	return t
}

// nodeTags are the member metadata cfg gives: user tags, then role, az and
// instance type.
func nodeTags(cfg *config.Config, id bootstrap.Identity) map[string]string {
	t := make(map[string]string, len(cfg.Tags)+3)
	maps.Copy(t, cfg.Tags)
	if cfg.Role != "" {
		t["role"] = cfg.Role
	}
	if id.AvailabilityZone != "" {
		t["az"] = id.AvailabilityZone
	}
	if id.InstanceType != "" {
		t["instance_type"] = id.InstanceType
	}
	return t
}

// record is this node's registry record.
func (n *node) record() bootstrap.Record {
	cfg := n.cfg.get()
	return bootstrap.Record{
		Version:      bootstrap.RecordVersion,
		Cluster:      cfg.Cluster,
		Name:         n.identity.InstanceID,
		Addr:         n.advertiseAddr(),
		Port:         cfg.Gossip.Port,
		AZ:           n.identity.AvailabilityZone,
		Tags:         n.tags(),
		AgentVersion: Version,
		StartedAt:    n.startedAt.UTC().Truncate(time.Second),
	}
}
