package coordinator

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jonboulle/clockwork"
)

// Tag keys the coordinator puts on every instance it launches. They are
// reserved: group Tags may not use the "farmhand:" prefix.
const (
	TagCluster  = "farmhand:cluster"  // the cluster name
	TagGroup    = "farmhand:group"    // the group name
	TagReplaces = "farmhand:replaces" // replaced instance id(s), or "batch:<id>" when they do not fit
	TagBatch    = "farmhand:batch"    // the ledger batch id (first 16 hex digits of the ClientToken)
)

// Config configures a Coordinator. Start from DefaultConfig.
type Config struct {
	// Cluster is the cluster name. It is written into the farmhand:cluster
	// tag of launched instances and into every ClientToken.
	Cluster string
	// Prefix is the S3 key prefix of this cluster, ending in "/", e.g.
	// "farmhand/<cluster>/". The lease is <Prefix>lease and the ledger
	// <Prefix>ledger.json.
	Prefix string
	// Bucket is the S3 bucket that holds the lease and the ledger.
	Bucket string
	// Interval is the coordinator's round: a follower reads the lease at
	// most once per Interval, and the leader makes at most one
	// DescribeInstances per Interval, however many membership events make
	// it tick sooner. 2 x Interval must be under LeaseTTL - LeaseMargin.
	Interval time.Duration
	// DeadGrace is how long gossip must have held a member dead before it
	// is judged. It must be shorter than the membership reap time.
	DeadGrace time.Duration
	// BatchWindow bounds how long a death that has passed DeadGrace may wait
	// for other deaths in its group that will pass DeadGrace soon, so that
	// one RunInstances covers a burst (a rack or an AZ going down). A lone
	// death never waits. 0 disables batching.
	BatchWindow time.Duration
	// SilentGrace is how long a member whose instance EC2 reports running and
	// healthy may stay dead in gossip before it is replaced anyway ("agent
	// down, machine healthy"). 0 means such members are reported, never
	// replaced.
	SilentGrace time.Duration
	// NewInstanceGrace is how long after its launch an instance is never
	// judged, and how long a launched instance that has not yet joined
	// gossip is counted as a pending launch without EC2 confirming it.
	NewInstanceGrace time.Duration
	// FreezeThreshold freezes all replacement in a group when more than this
	// fraction of it is unhealthy (suspect or dead) and at least two members
	// are. Kubernetes uses 0.55.
	FreezeThreshold float64
	// MaxReplacements is how many instances (replacements and top-ups
	// together, cluster-wide) may be launched per ReplacementWindow.
	MaxReplacements int
	// ReplacementWindow is the sliding window of MaxReplacements. Launch
	// times are kept in the ledger, so a new leader respects it.
	ReplacementWindow time.Duration
	// LeaseTTL is how long a lease lives without renewal. A contender takes
	// over only after it has seen the same lease object for LeaseTTL, so a
	// dead leader is replaced within about LeaseTTL + Interval. The leader
	// renews (one S3 PUT) once half of LeaseTTL has passed since its last
	// renewal, or sooner when that would leave less than two Intervals of
	// its acting window. The default, 50 s, costs about $0.52 a month in
	// PUTs, plus $0.21 per follower reading every 5 s (docs/coordinator.md).
	LeaseTTL time.Duration
	// LeaseMargin is the safety margin: a leader acts only while
	// now < lastRenewed + LeaseTTL - LeaseMargin, so it stops before any
	// contender can take over. It absorbs clock-rate drift and slow calls.
	// 0 means LeaseTTL / 4.
	LeaseMargin time.Duration
	// Retention is how long the ledger remembers a replaced instance id so
	// that it is never replaced twice. It must exceed the membership reap
	// time (dead members must be gone from every view before it is forgotten).
	Retention time.Duration
	// DryRun makes the coordinator plan, decide and record as usual but make
	// no EC2 mutation and prune nothing.
	DryRun bool
	// Groups are the node groups the coordinator keeps alive.
	Groups []Group
	// Clock is the time source (a fake clock in tests).
	Clock clockwork.Clock
	// Logger receives one line per decision.
	Logger hclog.Logger
	// OnDecision, if set, is called with every decision as it is recorded
	// (numbered; a repeat of the previous tick's is not recorded, so not
	// called), for the agent's metrics and event handlers. It must return
	// quickly and must not call the Coordinator.
	OnDecision func(Decision)
	// Prune deletes the registry record of a replaced node (name is the
	// instance id). It is called after the replacement is launched and
	// retried on later ticks until it succeeds. nil disables pruning.
	Prune func(ctx context.Context, name string) error
}

// Group is one set of interchangeable nodes: its members carry the gossip
// tag role=<Role>, and instances the coordinator launches for it are tagged
// farmhand:group=<Name>. Give either LaunchTemplate, or ImageID and
// InstanceType (with Subnets, SecurityGroups and so on); fields set here
// override the template.
type Group struct {
	// Name is the group name, unique in the cluster (the farmhand:group tag).
	Name string
	// Role is the gossip "role" tag of the group's members; empty means Name.
	Role string
	// Min is the group size to top up to. Left members do not count.
	Min int
	// Max is the most instances the group may have, counting dead members
	// not yet replaced and pending launches. Never exceeded.
	Max int
	// LaunchTemplate is a launch template id ("lt-...") or name.
	LaunchTemplate string
	// LaunchTemplateVersion is the template version; empty means "$Default".
	LaunchTemplateVersion string
	// ImageID is the AMI to launch.
	ImageID string
	// InstanceType is the instance type, e.g. "m7g.large".
	InstanceType string
	// Subnets are the subnets to launch into, in order of preference; on
	// InsufficientInstanceCapacity the next one is tried.
	Subnets []string
	// SecurityGroups are security group ids.
	SecurityGroups []string
	// InstanceProfile is an instance profile name or ARN ("arn:...").
	InstanceProfile string
	// KeyName is the EC2 key pair name.
	KeyName string
	// UserData is the plain-text user data; it is base64-encoded on launch.
	UserData string
	// Tags are extra tags for launched instances ("farmhand:" is reserved).
	Tags map[string]string
}

// DefaultConfig returns a Config with safe defaults; set Cluster, Prefix,
// Bucket and Groups.
func DefaultConfig() Config {
	return Config{
		Interval:          5 * time.Second,
		DeadGrace:         30 * time.Second,
		BatchWindow:       2 * time.Second,
		SilentGrace:       0,
		NewInstanceGrace:  5 * time.Minute,
		FreezeThreshold:   0.55,
		MaxReplacements:   3,
		ReplacementWindow: 10 * time.Minute,
		LeaseTTL:          50 * time.Second,
		LeaseMargin:       0,
		Retention:         48 * time.Hour,
		Clock:             clockwork.NewRealClock(),
		Logger:            hclog.NewNullLogger(),
	}
}

// CheckLeaseTimings checks that interval, leaseTTL and leaseMargin (0:
// leaseTTL / 4) leave the leader time to renew and retry once before its
// acting window closes: 2 x interval < leaseTTL - margin. The agent's
// configuration checks the same rule.
func CheckLeaseTimings(interval, leaseTTL, leaseMargin time.Duration) error {
	margin := leaseMargin
	if margin == 0 {
		margin = leaseTTL / 4
	}
	if margin < 0 || 2*interval >= leaseTTL-margin {
		return fmt.Errorf("lease_ttl %s must exceed lease_margin %s + 2 x interval %s, or the leader stops acting between renewals", leaseTTL, margin, interval)
	}
	return nil
}

// leaseMargin is LeaseMargin, or LeaseTTL/4 when it is 0.
func (c Config) leaseMargin() time.Duration {
	if c.LeaseMargin == 0 {
		return c.LeaseTTL / 4
	}
	return c.LeaseMargin
}

// role is the gossip role of the group's members.
func (g Group) role() string {
	if g.Role != "" {
		return g.Role
	}
	return g.Name
}

// Validate reports every problem with the configuration.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("coordinator: "+format, args...)) }
	if c.Cluster == "" {
		bad("cluster is empty: set the cluster name")
	}
	if c.Bucket == "" {
		bad("bucket is empty: set the S3 bucket that holds the lease and ledger")
	}
	if c.Prefix == "" || !strings.HasSuffix(c.Prefix, "/") {
		bad("prefix %q must be non-empty and end in \"/\", e.g. \"farmhand/%s/\"", c.Prefix, c.Cluster)
	}
	if c.Interval <= 0 {
		bad("interval %s must be positive", c.Interval)
	}
	if c.DeadGrace < 0 || c.SilentGrace < 0 || c.NewInstanceGrace < 0 || c.BatchWindow < 0 {
		bad("dead_grace, silent_grace and new_instance_grace must not be negative")
	}
	if c.SilentGrace > 0 && c.SilentGrace < c.DeadGrace {
		bad("silent_grace %s is shorter than dead_grace %s: use 0 (never) or a longer time", c.SilentGrace, c.DeadGrace)
	}
	if c.FreezeThreshold <= 0 || c.FreezeThreshold > 1 {
		bad("freeze_threshold %v must be in (0, 1]", c.FreezeThreshold)
	}
	if c.MaxReplacements < 1 || c.ReplacementWindow <= 0 {
		bad("max_replacements (%d) and replacement_window (%s) must be positive", c.MaxReplacements, c.ReplacementWindow)
	}
	if err := CheckLeaseTimings(c.Interval, c.LeaseTTL, c.LeaseMargin); err != nil {
		bad("%v", err)
	}
	if c.Retention < c.ReplacementWindow || c.Retention < c.DeadGrace {
		bad("retention %s must be at least replacement_window and dead_grace (and exceed the membership reap time)", c.Retention)
	}
	if c.Clock == nil || c.Logger == nil {
		bad("clock and logger must be set: start from DefaultConfig()")
	}
	if len(c.Groups) == 0 {
		bad("no groups: configure at least one group to keep alive")
	}
	names := map[string]bool{}
	roles := map[string]bool{}
	for i, g := range c.Groups {
		where := fmt.Sprintf("group[%d] %q", i, g.Name)
		if g.Name == "" {
			bad("%s: name is empty", where)
		}
		if names[g.Name] {
			bad("%s: duplicate group name", where)
		}
		if roles[g.role()] {
			bad("%s: role %q is used by another group", where, g.role())
		}
		names[g.Name], roles[g.role()] = true, true
		if g.Min < 0 || g.Max < 1 || g.Max < g.Min {
			bad("%s: need 0 <= min (%d) <= max (%d) and max >= 1", where, g.Min, g.Max)
		}
		if g.LaunchTemplate == "" && (g.ImageID == "" || g.InstanceType == "") {
			bad("%s: set launch_template, or image_id and instance_type", where)
		}
		for k := range g.Tags {
			if strings.HasPrefix(k, "farmhand:") || strings.HasPrefix(k, "aws:") {
				bad("%s: tag %q uses a reserved prefix (farmhand:, aws:)", where, k)
			}
		}
	}
	return errors.Join(errs...)
}
