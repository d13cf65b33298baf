package config

import (
	"os"
	"time"
)

// Config is the agent configuration: the decoded, typed values of all
// sources merged (defaults, files, directory, environment, flags). The hcl
// tags give the HCL names; they are also the field paths used in errors,
// e.g. "gossip.reap_time" or `coordinator.group["worker"].min`.
type Config struct {
	// Cluster names the cluster; it is the memberlist label and part of every
	// registry key. Required; 1 to 63 of [a-z0-9-].
	Cluster string `hcl:"cluster"`
	// DataDir holds the agent's state (peer snapshot, lock).
	DataDir string `hcl:"data_dir"`
	// Socket is the path of the local API unix socket.
	Socket string `hcl:"socket"`
	// SocketMode is the permission of the socket file (HCL: octal string).
	SocketMode os.FileMode `hcl:"socket_mode"`
	// SocketGroup is the group that owns the socket; empty keeps the agent's.
	SocketGroup string `hcl:"socket_group"`
	// LogLevel is trace, debug, info, warn or error.
	LogLevel string `hcl:"log_level"`
	// LogJSON writes logs as JSON lines instead of text.
	LogJSON bool `hcl:"log_json"`
	// MetricsAddr is the host:port of the Prometheus endpoint; empty
	// disables it. A non-loopback address is allowed (a central
	// Prometheus scrapes it) and warned about in the log.
	MetricsAddr string `hcl:"metrics_addr"`
	// UI serves a read-only farm page at / on the metrics listener
	// (metrics_addr): members by role and AZ, the coordinator, its
	// decisions and this agent's health. No script, nothing loaded from
	// the network.
	UI bool `hcl:"ui"`
	// LeaveTimeout bounds the graceful leave on shutdown.
	LeaveTimeout time.Duration `hcl:"leave_timeout"`
	// Role is this node's role; it becomes the member tag "role".
	Role string `hcl:"role"`
	// Tags are extra member tags (a "role" tag is refused: use Role).
	Tags map[string]string `hcl:"tags"`
	// RetryJoin are known members' addresses ("host" or "host:port"; the
	// port defaults to gossip.port), joined beside the registry at boot and
	// until the agent has joined, as in Serf and Consul: a first boot
	// during an S3 outage can still find the cluster.
	RetryJoin []string `hcl:"retry_join"`

	// Identity overrides what IMDSv2 reports about this instance.
	Identity IdentityConfig `hcl:"identity,block"`
	// Gossip configures memberlist.
	Gossip GossipConfig `hcl:"gossip,block"`
	// Registry is the S3 rendezvous registry.
	Registry RegistryConfig `hcl:"registry,block"`
	// EC2 is the EC2 API the coordinator uses.
	EC2 EC2Config `hcl:"ec2,block"`
	// Coordinator configures dead-node replacement.
	Coordinator CoordinatorConfig `hcl:"coordinator,block"`
	// Render lists the peer-list files to write, one per render block, in
	// the order they were first declared.
	Render []RenderConfig `hcl:"render,block"`
	// Drain is the drain watcher: termination notices read from IMDS.
	Drain DrainConfig `hcl:"drain,block"`
	// Handlers are the event handlers, one per handler block, run in the
	// order they were first declared (Serf's event handlers).
	Handlers []HandlerConfig `hcl:"handler,block"`

	// origins maps each field path that a source set to where it was set:
	// "file.hcl:12:3", "env FARMHAND_PORT", "flag -port". Merge copies only
	// fields present here; errors name these sources.
	origins map[string]string
}

// IdentityConfig overrides the instance identity. Every empty field is read
// from IMDSv2.
type IdentityConfig struct {
	// IMDSEndpoint is the IMDS base URL; empty means http://169.254.169.254.
	IMDSEndpoint string `hcl:"imds_endpoint"`
	// IMDSTimeout bounds the whole identity read, retries included.
	IMDSTimeout time.Duration `hcl:"imds_timeout"`
	// InstanceID overrides the instance id (the member name).
	InstanceID string `hcl:"instance_id"`
	// PrivateIP overrides the private IPv4 address.
	PrivateIP string `hcl:"private_ip"`
	// AvailabilityZone overrides the availability zone.
	AvailabilityZone string `hcl:"availability_zone"`
	// Region overrides the region.
	Region string `hcl:"region"`
	// InstanceType overrides the instance type.
	InstanceType string `hcl:"instance_type"`
	// AMIID overrides the image id.
	AMIID string `hcl:"ami_id"`
}

// DrainConfig is the drain watcher. It polls IMDS (local and free) for a
// spot interruption (spot/instance-action), an Auto Scaling termination
// (autoscaling/target-lifecycle-state = Terminated) and a rebalance
// recommendation (events/recommendations/rebalance). On a termination or
// stop notice the member becomes draining (every agent sees it; exclude
// lists take it at once), OnDrain runs, and the agent leaves and deletes
// its record LeaveBefore ahead of the notice's deadline.
type DrainConfig struct {
	// PollInterval is how often IMDS is read; 0 turns the watcher off.
	PollInterval time.Duration `hcl:"poll_interval"`
	// OnDrain is a shell command run on this node when it starts to drain
	// (e.g. decommission local work); empty runs none. Its environment
	// has FARMHAND_DRAIN_REASON, FARMHAND_DRAIN_ACTION and
	// FARMHAND_DRAIN_DEADLINE (RFC 3339, empty when unknown).
	OnDrain string `hcl:"on_drain"`
	// OnDrainTimeout bounds OnDrain; it is also cut short so that the
	// leave starts LeaveBefore ahead of the deadline.
	OnDrainTimeout time.Duration `hcl:"on_drain_timeout"`
	// LeaveBefore is how long before the notice's deadline the agent
	// leaves and deletes its record; the agent uses at least
	// leave_timeout (Config.DrainLeaveLead), so both are done before the
	// instance goes. A notice without a deadline (Auto
	// Scaling) is left as soon as OnDrain is done.
	LeaveBefore time.Duration `hcl:"leave_before"`
	// Rebalance is what a rebalance recommendation does: "warn" (log it
	// and show it in the local API's info; the default) or "drain" (become
	// draining, without leaving: no deadline is known).
	Rebalance string `hcl:"rebalance"`
}

// GossipConfig configures the memberlist gossip layer.
type GossipConfig struct {
	// Profile is the memberlist timing preset: "lan" or "local".
	Profile string `hcl:"profile"`
	// BindAddr is the address to bind; empty means the identity's private IP.
	BindAddr string `hcl:"bind_addr"`
	// Port is the gossip TCP and UDP port; 0 picks a free one.
	Port int `hcl:"port"`
	// Keys are the AES keys (16, 24 or 32 bytes, base64 in HCL); the first
	// is the primary. Load fills them from KeyFile when that is set.
	Keys [][]byte `hcl:"keys"`
	// KeyFile is a file with one base64 key per line, the first primary;
	// Load reads it into Keys. Set Keys or KeyFile, not both.
	KeyFile string `hcl:"key_file"`
	// Insecure allows running without any key (no encryption).
	Insecure bool `hcl:"insecure"`
	// ReapTime is how long dead and left members stay in the view.
	ReapTime time.Duration `hcl:"reap_time"`
	// ReconnectInterval is how often to try to reconnect to dead members.
	ReconnectInterval time.Duration `hcl:"reconnect_interval"`
	// ReconnectTimeout is how long to keep trying to reconnect to a member.
	ReconnectTimeout time.Duration `hcl:"reconnect_timeout"`
	// JoinFanout is how many registry candidates to join at once.
	JoinFanout int `hcl:"join_fanout"`
}

// RegistryConfig is the S3 rendezvous registry.
type RegistryConfig struct {
	// Bucket is the S3 bucket. Required.
	Bucket string `hcl:"bucket"`
	// Prefix is the key prefix: records live at <prefix>/<cluster>/nodes/.
	Prefix string `hcl:"prefix"`
	// Region is the bucket's region; empty means the instance's region.
	Region string `hcl:"region"`
	// Endpoint is an S3-compatible endpoint URL; empty means AWS.
	Endpoint string `hcl:"endpoint"`
	// PathStyle addresses the bucket in the path instead of the host name.
	PathStyle bool `hcl:"path_style"`
	// SigningKey is the HMAC key for record signatures (base64 in HCL);
	// empty writes unsigned records.
	SigningKey []byte `hcl:"signing_key"`
	// VerifyKeys are older signing keys (base64 in HCL) whose signatures
	// are still accepted, for a rolling change of signing_key.
	VerifyKeys [][]byte `hcl:"verify_keys"`
	// RequireSignature skips records without a valid signature.
	RequireSignature bool `hcl:"require_signature"`
	// PruneAfter is how long a member must have been dead or left before
	// its record is deleted, by one agent of the cluster (the alive member
	// with the lowest name); 0 turns pruning off. Under gossip.reap_time.
	PruneAfter time.Duration `hcl:"prune_after"`
	// PruneCheckEC2 has EC2 confirm (DescribeInstances) that a gone
	// member's instance is terminated or unknown before its record goes,
	// when the instance role allows it.
	PruneCheckEC2 bool `hcl:"prune_check_ec2"`
}

// EC2Config is the EC2 API endpoint.
type EC2Config struct {
	// Region is the EC2 region; empty means the instance's region.
	Region string `hcl:"region"`
	// Endpoint is an EC2 endpoint URL; empty means AWS.
	Endpoint string `hcl:"endpoint"`
}

// CoordinatorConfig configures dead-node replacement.
type CoordinatorConfig struct {
	// Enabled makes this agent a coordinator candidate.
	Enabled bool `hcl:"enabled"`
	// DryRun decides and records but never calls EC2 to act.
	DryRun bool `hcl:"dry_run"`
	// Interval is how often the leader evaluates the groups.
	Interval time.Duration `hcl:"interval"`
	// DeadGrace is how long gossip must hold a member dead before it counts.
	DeadGrace time.Duration `hcl:"dead_grace"`
	// BatchWindow is how long a death past dead_grace may wait for other
	// deaths of its group about to pass it, so one launch covers a burst.
	BatchWindow time.Duration `hcl:"batch_window"`
	// SilentGrace replaces running-but-silent instances after this long;
	// 0 never does.
	SilentGrace time.Duration `hcl:"silent_grace"`
	// StoppedGrace replaces an instance EC2 reports stopping or stopped
	// after it has been dead this long (its disks are thrown away); 0
	// never does. Default 1h: a maintenance stop keeps its machine.
	StoppedGrace time.Duration `hcl:"stopped_grace"`
	// OnRebalance is what an EC2 rebalance recommendation does: "warn"
	// (default: report only) or "replace" (launch the replacement at once).
	OnRebalance string `hcl:"on_rebalance"`
	// NewInstanceGrace spares instances younger than this.
	NewInstanceGrace time.Duration `hcl:"new_instance_grace"`
	// FreezeThreshold freezes all replacement when the unhealthy fraction of
	// a group exceeds it; in (0, 1].
	FreezeThreshold float64 `hcl:"freeze_threshold"`
	// MaxReplacements is the most replacements per ReplacementWindow.
	MaxReplacements int `hcl:"max_replacements"`
	// ReplacementWindow is the rate-limit window of MaxReplacements.
	ReplacementWindow time.Duration `hcl:"replacement_window"`
	// LeaseTTL is the lifetime of the S3 leader lease.
	LeaseTTL time.Duration `hcl:"lease_ttl"`
	// Groups are the managed groups, one per group block.
	Groups []GroupConfig `hcl:"group,block"`
}

// GroupConfig is one managed group of instances (a group block).
type GroupConfig struct {
	// Name is the block label.
	Name string `hcl:"name,label"`
	// Role is the member role that counts toward this group; default Name.
	Role string `hcl:"role"`
	// Min is the number of instances to keep; the coordinator tops up to it.
	Min int `hcl:"min"`
	// Max is the most instances the coordinator will run. Required (>= 1).
	Max int `hcl:"max"`
	// LaunchTemplate is the launch template name or id.
	LaunchTemplate string `hcl:"launch_template"`
	// LaunchTemplateVersion is the template version; empty means default.
	LaunchTemplateVersion string `hcl:"launch_template_version"`
	// ImageID is the AMI; required without a launch template.
	ImageID string `hcl:"image_id"`
	// InstanceType is the instance type; required without a launch template.
	InstanceType string `hcl:"instance_type"`
	// Subnets are the subnet ids to launch into, spread in order.
	Subnets []string `hcl:"subnets"`
	// SecurityGroups are the security group ids.
	SecurityGroups []string `hcl:"security_groups"`
	// InstanceProfile is the IAM instance profile name or ARN.
	InstanceProfile string `hcl:"instance_profile"`
	// KeyName is the EC2 key pair name.
	KeyName string `hcl:"key_name"`
	// UserData is the user data (plain text; encoded when launching).
	UserData string `hcl:"user_data"`
	// Tags are extra EC2 tags for launched instances.
	Tags map[string]string `hcl:"tags"`
}

// RenderConfig is one peer-list file (a render block).
type RenderConfig struct {
	// Name is the block label.
	Name string `hcl:"name,label"`
	// Template is a built-in template name or a Go text/template file path.
	Template string `hcl:"template"`
	// Destination is the file to write.
	Destination string `hcl:"destination"`
	// Status lists the member states to include (alive, draining, suspect, dead,
	// left); empty includes all four.
	Status []string `hcl:"status"`
	// Role keeps only members with this role; empty keeps all.
	Role string `hcl:"role"`
	// Tags keeps only members with all these tags.
	Tags map[string]string `hcl:"tags"`
	// Mode is the file permission (HCL: octal string).
	Mode os.FileMode `hcl:"mode"`
	// Owner is the file's owner user; empty keeps the agent's.
	Owner string `hcl:"owner"`
	// Group is the file's owner group; empty keeps the agent's.
	Group string `hcl:"group"`
	// ReloadCommand runs (through /bin/sh -c) after the file changes.
	ReloadCommand string `hcl:"reload_command"`
	// ReloadTimeout bounds ReloadCommand.
	ReloadTimeout time.Duration `hcl:"reload_timeout"`
	// WaitMin is the quiet time after a change before rendering.
	WaitMin time.Duration `hcl:"wait_min"`
	// WaitMax renders at the latest this long after the first change.
	WaitMax time.Duration `hcl:"wait_max"`
	// Stable is how long the member view must be unchanged before rendering.
	Stable time.Duration `hcl:"stable"`
}

// DrainLeaveLead is how long before a notice's deadline the agent leaves:
// drain.leave_before, or leave_timeout when that is longer, so that the
// whole stop (leave broadcast, record deletion) ends before the deadline.
func (c *Config) DrainLeaveLead() time.Duration { return max(c.Drain.LeaveBefore, c.LeaveTimeout) }

// HandlerConfig is one event handler (a handler block), in Serf's
// convention: the command runs through /bin/sh -c with the event in
// FARMHAND_EVENT and the affected members on stdin, one per line.
type HandlerConfig struct {
	// Name is the block label; metrics and logs name the handler by it.
	Name string `hcl:"name,label"`
	// Events lists the events that run the handler (member-join,
	// member-leave, member-failed, member-update, member-reap,
	// member-draining, coordinator-decision); empty runs it for every one.
	Events []string `hcl:"events"`
	// Command is the shell command to run. Required.
	Command string `hcl:"command"`
	// Timeout bounds one run: the command's process group is killed after
	// it and the run counted as failed.
	Timeout time.Duration `hcl:"timeout"`
}
