# farmhand agent configuration: a complete, commented example.
#
# Install as /etc/farmhand/farmhand.hcl (or drop parts of it into a
# -config-dir, where *.hcl files are read in lexical order). Every field is
# shown; most lines just repeat the default and can be deleted. Sources merge
# in this order, later winning: this file (-config), the -config-dir files,
# FARMHAND_* environment variables, command-line flags.
# Durations are strings such as "30s", "5m" or "24h"; file modes are octal
# strings. See docs/configuration.md for every field.

# Cluster name: the gossip label and part of every registry key. Required.
cluster = "farm"

# Agent state (peer snapshot, lock).
data_dir = "/var/lib/farmhand"

# Local API socket, used by the farmhand CLI. Members of socket_group may use
# it too.
socket       = "/run/farmhand/farmhand.sock"
socket_mode  = "0660"
socket_group = "farmhand"

# trace, debug, info, warn or error; log_json writes JSON lines.
log_level = "info"
log_json  = false

# Prometheus metrics on a loopback address; "" turns them off.
metrics_addr = "127.0.0.1:9946"

# A read-only farm page at http://<metrics_addr>/ (members by role and AZ,
# the coordinator and its decisions, this agent's health); needs metrics_addr.
ui = false

# Upper bound on the whole graceful stop (leave, record deletion, shutdown).
leave_timeout = "5s"

# This node's role (the member tag "role") and extra member tags.
role = "worker"
tags = {
  rack = "a"
}

# Known members to join beside the S3 registry ("host" or "host:port"; the
# port defaults to gossip.port), tried at boot and until this agent has
# joined: a first boot during an S3 outage still finds the cluster. Listing
# this node itself is fine (it is skipped).
retry_join = []

# Who am I. Leave everything empty on EC2: IMDSv2 answers. Set fields to
# override it (off EC2, or in tests).
identity {
  imds_endpoint     = "" # default http://169.254.169.254
  imds_timeout      = "10s"
  instance_id       = ""
  private_ip        = ""
  availability_zone = ""
  region            = ""
  instance_type     = ""
  ami_id            = ""
}

gossip {
  # lan for EC2; local for many agents on one machine.
  profile = "lan"
  # "" binds the private IP from identity.
  bind_addr = ""
  port      = 7946

  # Encryption keys (base64 AES-128/192/256, made by "farmhand keygen"); the
  # first is primary. Give them inline OR in key_file (one per line), not both:
  # keys = ["<base64 key>"]
  key_file = "/etc/farmhand/gossip.key"
  # Must be true to run without any key (a warning is logged).
  insecure = false

  # Dead and left members stay in the view this long.
  reap_time = "24h"
  # Try to reconnect to dead members this often, for this long.
  reconnect_interval = "30s"
  reconnect_timeout  = "24h"
  # Registry candidates joined at once at boot.
  join_fanout = 3
}

# The S3 rendezvous: records live at
# <prefix>/<cluster>/nodes/<instance-id>/<az>/<ip>:<port>.
registry {
  bucket = "example-farmhand-registry" # required
  prefix = "farmhand"
  region = "" # default: the instance's region
  # An S3-compatible endpoint (versitygw, MinIO...); "" means AWS.
  endpoint   = ""
  path_style = false
  # Base64 HMAC key to sign records; "" writes unsigned records. With
  # require_signature, unsigned or badly signed records are skipped.
  signing_key       = ""
  # Older signing keys still accepted during a rolling change of signing_key.
  verify_keys       = []
  require_signature = false
  # Records of members dead or left this long are deleted by one agent of
  # the cluster (the alive member with the lowest name), at most 10 a
  # minute; "0s" turns it off. Must be under gossip.reap_time.
  prune_after = "1h"
  # Let EC2 confirm first (ec2:DescribeInstances): only a terminated or
  # unknown instance loses its record. Without the permission, one log line
  # and pruning goes on gossip evidence alone.
  prune_check_ec2 = true
}

# The drain watcher: termination notices in IMDS (spot interruption, Auto
# Scaling termination). On one, this member becomes draining (every agent
# sees it; exclude lists take it at once), on_drain runs, and the agent
# leaves and deletes its record leave_before ahead of the deadline.
drain {
  poll_interval    = "5s" # "0s" turns the watcher off
  on_drain         = ""   # e.g. "/usr/local/bin/decommission-local"
  on_drain_timeout = "1m"
  leave_before     = "15s" # leave_timeout when that is longer
  # A rebalance recommendation: "warn" (log, farmhand info) or "drain"
  # (draining without leaving).
  rebalance = "warn"
}

# The EC2 API, used by the coordinator.
ec2 {
  region   = "" # default: the instance's region
  endpoint = "" # "" means AWS
}

# Dead-node replacement. One agent per cluster leads (S3 lease).
coordinator {
  enabled = false
  # Decide and record, but never terminate or launch.
  dry_run = false
  # The coordinator's round: followers read the lease at most this often,
  # the leader calls DescribeInstances at most this often.
  interval = "5s"
  # Gossip must hold a member dead this long before it counts.
  dead_grace = "30s"
  # How long a death past dead_grace may wait for other deaths of its group
  # about to pass it, so one launch covers a burst (0s: no batching).
  batch_window = "2s"
  # Replace running-but-silent instances after this long; "0s" = never.
  silent_grace = "0s"
  # Replace an instance EC2 reports stopped after it has been dead this
  # long (terminating it throws its disks away); "0s" = never. A stopped
  # instance keeps its id, address and disks; start-instances brings it back.
  stopped_grace = "1h"
  # An EC2 rebalance recommendation: "warn" (report only; the instance is
  # replaced at its interruption notice) or "replace" (replace it at once).
  on_rebalance = "warn"
  # Instances younger than this are not judged.
  new_instance_grace = "5m"
  # Freeze all replacement when more than this fraction of a group is down.
  freeze_threshold = 0.55
  # At most max_replacements per replacement_window.
  max_replacements   = 3
  replacement_window = "10m"
  # Lifetime of the leader lease: a dead leader is replaced within about
  # lease_ttl + interval; renewed every lease_ttl / 2 (one S3 PUT).
  # 50s costs about $0.52 a month, plus $0.21 per follower (docs/coordinator.md).
  lease_ttl = "50s"

  # One block per managed group; the label is the group name.
  group "worker" {
    role = "worker" # members with this role count toward the group; default the label
    min  = 3        # top up to this many
    max  = 10       # never run more than this many
    # Launch from a template...
    launch_template         = "farm-worker"
    launch_template_version = "" # "" = the template's default version
    # ...or, without one, give image_id and instance_type (these override
    # the template when both are set).
    image_id         = ""
    instance_type    = ""
    subnets          = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]
    security_groups  = ["sg-0123456789abcdef0"]
    instance_profile = "farmhand-agent"
    key_name         = ""
    user_data        = ""
    # Extra EC2 tags; farmhand adds cluster, group and replaces.
    tags = {
      team = "data"
    }
  }
}

# Peer-list files. One block per file; the label names it.
render "workers" {
  # A built-in template (hadoop-workers, hdfs-hosts, hdfs-exclude,
  # hdfs-hosts-json, yarn-include, yarn-exclude, tomcat-static, etc-hosts,
  # json) or the path of a Go text/template file.
  template    = "hadoop-workers"
  destination = "/etc/hadoop/workers" # absolute path
  # Members to list: their states (empty = all four, the default: the
  # built-in templates pick live or gone members themselves), role and tags.
  status = []
  role   = "worker"
  tags   = {}
  # The written file's mode and owner ("" keeps the agent's).
  mode  = "0644"
  owner = ""
  group = ""
  # Run (sh -c, as the agent's user) after the file changed, bounded by
  # reload_timeout; "" runs nothing.
  reload_command = ""
  reload_timeout = "30s"
  # Wait for quiet: at least wait_min after the last change, at most
  # wait_max after the first, and a member view unchanged for stable.
  wait_min = "2s"
  wait_max = "10s"
  stable   = "5s"
}

# A second file: an /etc/hosts fragment of every alive member. The packaged
# systemd unit lets the agent write only under /etc/farmhand/rendered; add
# other destinations (like /etc/hadoop above) with a ReadWritePaths= drop-in.
render "hosts" {
  template    = "etc-hosts"
  destination = "/etc/farmhand/rendered/hosts"
}

# Event handlers, as Serf runs them: the command runs (/bin/sh -c) for each
# event it names (all when events is empty), one run at a time, with
# FARMHAND_EVENT, FARMHAND_SELF_NAME and FARMHAND_SELF_ROLE in its
# environment and the affected members on stdin, one per line:
# name<TAB>address<TAB>role<TAB>k=v,k=v. See docs/handlers.md.
handler "notify" {
  events  = ["member-join", "member-failed", "member-leave", "member-draining"]
  command = "/etc/farmhand/handlers/notify"
  timeout = "1m"
}
