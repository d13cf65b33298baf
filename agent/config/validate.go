package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/farmhand/farmhand/agent/coordinator"
	"github.com/farmhand/farmhand/agent/render"
)

// clusterRE is what a cluster name may be.
var clusterRE = regexp.MustCompile(`^[a-z0-9-]{1,63}$`)

// logLevels are the accepted log levels.
var logLevels = []string{"trace", "debug", "info", "warn", "error"}

// memberStates are the states a render block may list.
var memberStates = []string{"alive", "suspect", "dead", "left"}

// problems collects FieldErrors, each naming where its field was set.
type problems struct {
	c    *Config
	errs []error
}

func (p *problems) add(field, format string, args ...any) {
	p.errs = append(p.errs, &FieldError{Source: p.c.Source(field), Field: field, Problem: fmt.Sprintf(format, args...)})
}

func (p *problems) required(field, how string) {
	p.add(field, "required; %s", how)
}

func (p *problems) positive(field string, d time.Duration) {
	if d <= 0 {
		p.add(field, "must be a positive duration, got %s", d)
	}
}

func (p *problems) notNegative(field string, d time.Duration) {
	if d < 0 {
		p.add(field, "must not be negative, got %s", d)
	}
}

func (p *problems) url(field, s string) {
	if s == "" {
		return
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.add(field, "%q is not an http(s) URL such as \"http://127.0.0.1:9000\"", s)
	}
}

// Validate checks the whole configuration and returns every problem at once
// (errors.Join of *FieldError), each naming the field and where it was set.
func (c *Config) Validate() error {
	p := &problems{c: c}
	c.validateTop(p)
	c.validateIdentity(p)
	c.validateGossip(p)
	c.validateRegistry(p)
	p.url("ec2.endpoint", c.EC2.Endpoint)
	c.validateCoordinator(p)
	c.validateRender(p)
	c.validateHandlers(p)
	return errors.Join(p.errs...)
}

func (c *Config) validateTop(p *problems) {
	switch {
	case c.Cluster == "":
		p.required("cluster", `name the cluster, e.g. cluster = "farm", FARMHAND_CLUSTER or -cluster`)
	case !clusterRE.MatchString(c.Cluster):
		p.add("cluster", "%q is not a valid name; use 1 to 63 lowercase letters, digits or '-'", c.Cluster)
	}
	if c.DataDir == "" {
		p.required("data_dir", "give a directory for the agent's state")
	}
	if c.Socket == "" {
		p.required("socket", "give the path of the local API socket")
	}
	if c.SocketMode&^0o777 != 0 {
		p.add("socket_mode", "%04o has bits beyond 0777; give only permission bits", uint32(c.SocketMode))
	}
	if !slices.Contains(logLevels, strings.ToLower(c.LogLevel)) {
		p.add("log_level", "unknown level %q; use one of %s", c.LogLevel, strings.Join(logLevels, ", "))
	}
	if c.MetricsAddr != "" {
		if err := checkMetricsAddr(c.MetricsAddr); err != nil {
			p.add("metrics_addr", "%v", err)
		}
	}
	if c.UI && c.MetricsAddr == "" {
		p.add("ui", "the farm page is served on the metrics listener: set metrics_addr too, e.g. metrics_addr = \"127.0.0.1:9946\"")
	}
	p.positive("leave_timeout", c.LeaveTimeout)
	c.Drain.validate(p)
	for i, addr := range c.RetryJoin {
		if err := checkJoinAddr(addr); err != nil {
			p.add(fmt.Sprintf("retry_join[%d]", i), "%v", err)
		}
	}
	for k, v := range c.Tags {
		switch k {
		case "":
			p.add("tags", "a tag name is empty")
		case "role":
			p.add("tags", `a "role" tag is not allowed here; set role = "..." instead`)
		case render.TagHostname:
			if err := render.CheckHostname(v); err != nil {
				p.add("tags", "hostname %v; give the host's name alone", err)
			}
		}
	}
}

// checkJoinAddr accepts "host" or "host:port" (an IPv6 address in
// brackets when it has a port), host an IP address or a DNS name.
func checkJoinAddr(addr string) error {
	host := addr
	if h, port, err := net.SplitHostPort(addr); err == nil {
		host = h
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%q has an invalid port", addr)
		}
	} else if strings.Count(addr, ":") == 1 {
		return fmt.Errorf("%q is not host or host:port, e.g. \"10.0.1.5\" or \"10.0.1.5:7946\"", addr)
	}
	if net.ParseIP(host) == nil && !dnsNameRE.MatchString(host) {
		return fmt.Errorf("%q: %q is neither an IP address nor a host name", addr, host)
	}
	return nil
}

// dnsNameRE is a host name: dot-separated labels of letters, digits and
// hyphens.
var dnsNameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$`)

// checkMetricsAddr requires host:port with an IP address (or localhost)
// as host. A non-loopback address is allowed, for a central Prometheus;
// the agent warns about it (IsLoopbackAddr).
func checkMetricsAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port, e.g. 127.0.0.1:9946", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q has an invalid port", addr)
	}
	if host != "localhost" && host != "" && net.ParseIP(host) == nil {
		return fmt.Errorf("%q: the host must be an IP address, e.g. 127.0.0.1:9946, or 0.0.0.0:9946 for every interface", addr)
	}
	return nil
}

// IsLoopbackAddr reports whether host:port addr listens on loopback only.
func IsLoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

func (c *Config) validateIdentity(p *problems) {
	id := c.Identity
	p.url("identity.imds_endpoint", id.IMDSEndpoint)
	p.positive("identity.imds_timeout", id.IMDSTimeout)
	if id.PrivateIP != "" && net.ParseIP(id.PrivateIP) == nil {
		p.add("identity.private_ip", "%q is not an IP address", id.PrivateIP)
	}
}

func (c *Config) validateGossip(p *problems) {
	g := c.Gossip
	if g.Profile != "lan" && g.Profile != "local" {
		p.add("gossip.profile", "unknown profile %q; use lan or local", g.Profile)
	}
	if g.BindAddr != "" && net.ParseIP(g.BindAddr) == nil {
		p.add("gossip.bind_addr", "%q is not an IP address", g.BindAddr)
	}
	if g.Port < 0 || g.Port > 65535 {
		p.add("gossip.port", "%d is not a port (0 to 65535)", g.Port)
	}
	for i, k := range g.Keys {
		if err := checkGossipKey(k); err != nil {
			p.add(fmt.Sprintf("gossip.keys[%d]", i), "%v", err)
		}
	}
	if len(g.Keys) == 0 && g.KeyFile == "" && !g.Insecure {
		p.add("gossip.keys", `no gossip key: set gossip.keys, gossip.key_file or FARMHAND_GOSSIP_KEY (make one with "farmhand keygen"), or set gossip.insecure = true to run unencrypted`)
	}
	p.positive("gossip.reap_time", g.ReapTime)
	p.positive("gossip.reconnect_interval", g.ReconnectInterval)
	p.positive("gossip.reconnect_timeout", g.ReconnectTimeout)
	if g.JoinFanout < 1 {
		p.add("gossip.join_fanout", "must be at least 1, got %d", g.JoinFanout)
	}
}

func (c *Config) validateRegistry(p *problems) {
	r := c.Registry
	if r.Bucket == "" {
		p.required("registry.bucket", "name the S3 bucket: registry { bucket = \"...\" }, FARMHAND_S3_BUCKET or -bucket")
	}
	if strings.HasPrefix(r.Prefix, "/") || strings.HasSuffix(r.Prefix, "/") || strings.Contains(r.Prefix, "//") {
		p.add("registry.prefix", "%q must not start or end with '/' or contain \"//\"", r.Prefix)
	}
	p.url("registry.endpoint", r.Endpoint)
	if n := len(r.SigningKey); n > 0 && n < 16 {
		p.add("registry.signing_key", `key decodes to %d bytes; use at least 16 (make one with "farmhand keygen")`, n)
	}
	for i, k := range r.VerifyKeys {
		if len(k) < 16 {
			p.add(fmt.Sprintf("registry.verify_keys[%d]", i), `key decodes to %d bytes; use at least 16`, len(k))
		}
	}
	if len(r.VerifyKeys) > 0 && len(r.SigningKey) == 0 {
		p.add("registry.verify_keys", "needs registry.signing_key")
	}
	if r.RequireSignature && len(r.SigningKey) == 0 {
		p.add("registry.require_signature", "needs registry.signing_key")
	}
	p.notNegative("registry.prune_after", r.PruneAfter)
	if r.PruneAfter >= c.Gossip.ReapTime && c.Gossip.ReapTime > 0 {
		p.add("registry.prune_after", "%s is not under gossip.reap_time %s: a member is forgotten before its record could be pruned", r.PruneAfter, c.Gossip.ReapTime)
	}
}

func (c *Config) validateCoordinator(p *problems) {
	co := c.Coordinator
	p.positive("coordinator.interval", co.Interval)
	p.notNegative("coordinator.dead_grace", co.DeadGrace)
	p.notNegative("coordinator.batch_window", co.BatchWindow)
	p.notNegative("coordinator.silent_grace", co.SilentGrace)
	p.notNegative("coordinator.stopped_grace", co.StoppedGrace)
	p.notNegative("coordinator.new_instance_grace", co.NewInstanceGrace)
	if !(co.FreezeThreshold > 0 && co.FreezeThreshold <= 1) {
		p.add("coordinator.freeze_threshold", "must be in (0, 1], got %v", co.FreezeThreshold)
	}
	if co.MaxReplacements < 1 {
		p.add("coordinator.max_replacements", "must be at least 1, got %d (use dry_run to stop acting)", co.MaxReplacements)
	}
	if co.SilentGrace > 0 && co.SilentGrace < co.DeadGrace {
		p.add("coordinator.silent_grace", "%s is shorter than dead_grace %s; use 0s (never) or a longer time", co.SilentGrace, co.DeadGrace)
	}
	if co.StoppedGrace > 0 && co.StoppedGrace < co.DeadGrace {
		p.add("coordinator.stopped_grace", "%s is shorter than dead_grace %s; use 0s (never) or a longer time", co.StoppedGrace, co.DeadGrace)
	}
	if co.OnRebalance != coordinator.RebalanceWarn && co.OnRebalance != coordinator.RebalanceReplace {
		p.add("coordinator.on_rebalance", "must be %q or %q, got %q", coordinator.RebalanceWarn, coordinator.RebalanceReplace, co.OnRebalance)
	}
	p.positive("coordinator.replacement_window", co.ReplacementWindow)
	if err := coordinator.CheckLeaseTimings(co.Interval, co.LeaseTTL, 0); err != nil {
		p.add("coordinator.lease_ttl", "%v", err)
	}
	if co.Enabled && len(co.Groups) == 0 {
		p.add("coordinator.enabled", "the coordinator has no group to keep alive; add a group block or set enabled = false")
	}
	roles := map[string]string{}
	for _, g := range co.Groups {
		f := labelPath("coordinator.group", g.Name) + "."
		if g.Role == "" {
			p.add(f+"role", "must not be empty")
		} else if other, dup := roles[g.Role]; dup {
			p.add(f+"role", "role %q is already managed by group %q; give each group its own role", g.Role, other)
		} else {
			roles[g.Role] = g.Name
		}
		if g.Min < 0 {
			p.add(f+"min", "must not be negative, got %d", g.Min)
		}
		switch {
		case g.Max < 1:
			p.required(f+"max", "set max >= 1, the most instances the coordinator may run")
		case g.Min > g.Max:
			p.add(f+"min", "min %d is above max %d", g.Min, g.Max)
		}
		if g.LaunchTemplate == "" {
			if g.LaunchTemplateVersion != "" {
				p.add(f+"launch_template_version", "is set without launch_template")
			}
			if g.ImageID == "" {
				p.required(f+"image_id", "set launch_template, or image_id and instance_type")
			}
			if g.InstanceType == "" {
				p.required(f+"instance_type", "set launch_template, or image_id and instance_type")
			}
		}
		for k := range g.Tags {
			if strings.HasPrefix(k, "farmhand:") || strings.HasPrefix(k, "aws:") {
				p.add(f+"tags", "tag %q uses a reserved prefix (farmhand:, aws:)", k)
			}
		}
	}
}

func (c *Config) validateRender(p *problems) {
	dests := map[string]string{}
	for _, r := range c.Render {
		f := labelPath("render", r.Name) + "."
		if r.Template == "" {
			p.required(f+"template", "give a built-in template name or a template file")
		}
		if r.Destination == "" {
			p.required(f+"destination", "give the absolute path of the file to write")
		} else if !filepath.IsAbs(r.Destination) {
			p.add(f+"destination", "%q is not an absolute path", r.Destination)
		} else if other, dup := dests[r.Destination]; dup {
			p.add(f+"destination", "%q is also written by render %q", r.Destination, other)
		} else {
			dests[r.Destination] = r.Name
		}
		for _, s := range r.Status {
			if !slices.Contains(memberStates, s) {
				p.add(f+"status", "unknown state %q; use %s", s, strings.Join(memberStates, ", "))
			}
		}
		if r.Mode&^0o777 != 0 {
			p.add(f+"mode", "%04o has bits beyond 0777; give only permission bits", uint32(r.Mode))
		}
		p.positive(f+"reload_timeout", r.ReloadTimeout)
		p.notNegative(f+"wait_min", r.WaitMin)
		if r.WaitMax < r.WaitMin {
			p.add(f+"wait_max", "%s is below wait_min %s", r.WaitMax, r.WaitMin)
		}
		p.notNegative(f+"stable", r.Stable)
	}
}

func (c *Config) validateHandlers(p *problems) {
	for _, h := range c.Handlers {
		f := labelPath("handler", h.Name) + "."
		if strings.TrimSpace(h.Command) == "" {
			p.required(f+"command", "give the shell command to run, e.g. command = \"/etc/farmhand/handlers/notify\"")
		}
		for _, e := range h.Events {
			if !slices.Contains(HandlerEvents, e) {
				p.add(f+"events", "unknown event %q; use %s", e, strings.Join(HandlerEvents, ", "))
			}
		}
		p.positive(f+"timeout", h.Timeout)
	}
}

// Warnings lists valid but risky settings, for the agent to log at start.
func (c *Config) Warnings() []string {
	var w []string
	if len(c.Gossip.Keys) == 0 && c.Gossip.KeyFile == "" {
		w = append(w, "gossip is not encrypted (gossip.insecure = true): anyone who reaches the gossip port can join the cluster")
	}
	for _, r := range c.Render {
		if r.Template == "yarn-exclude" && strings.HasSuffix(strings.ToLower(r.Destination), ".xml") {
			w = append(w, fmt.Sprintf("render %q: destination %s ends in .xml, so YARN reads it as an XML exclude file and rejects this plain host list; use another name (e.g. yarn.exclude)", r.Name, r.Destination))
		}
	}
	if a := c.Registry.PruneAfter; a > 0 && a < 5*time.Minute {
		w = append(w, fmt.Sprintf("registry.prune_after is %s: a member cut off by a partition that long loses its registry record (it is rewritten when the agent restarts)", a))
	}
	return w
}

// minDrainPoll is the shortest drain.poll_interval: IMDS is local, but a
// tighter loop only burns CPU, notices come minutes ahead.
const minDrainPoll = 100 * time.Millisecond

// validate checks the drain block. A leave_before under leave_timeout is
// not an error: the agent leaves max(leave_before, leave_timeout) ahead
// (LeaveLead), so an existing long leave_timeout keeps working.
func (d DrainConfig) validate(p *problems) {
	p.notNegative("drain.poll_interval", d.PollInterval)
	if d.PollInterval > 0 && d.PollInterval < minDrainPoll {
		p.add("drain.poll_interval", "%s is too short; use at least %s, or 0 to turn the watcher off", d.PollInterval, minDrainPoll)
	}
	p.positive("drain.on_drain_timeout", d.OnDrainTimeout)
	p.positive("drain.leave_before", d.LeaveBefore)
	if d.Rebalance != RebalanceWarn && d.Rebalance != RebalanceDrain {
		p.add("drain.rebalance", "unknown policy %q; use %q or %q", d.Rebalance, RebalanceWarn, RebalanceDrain)
	}
}
