package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/farmhand/farmhand/agent/coordinator"
)

func TestValidateMinimal(t *testing.T) {
	if err := mustDecode(t, minimalHCL).Validate(); err != nil {
		t.Fatalf("minimal config: %v", err)
	}
}

func TestValidateCollectsEveryProblem(t *testing.T) {
	err := Default().Validate()
	wantErr(t, err, "cluster: required", "registry.bucket: required", "gossip.keys: no gossip key")
	if n := len(err.(interface{ Unwrap() []error }).Unwrap()); n != 3 {
		t.Errorf("got %d errors, want 3:\n%v", n, err)
	}
}

// TestValidateChecks breaks one rule at a time on a valid config.
func TestValidateChecks(t *testing.T) {
	group := func(c *Config) *GroupConfig {
		g := DefaultGroupConfig("web")
		g.Max, g.ImageID, g.InstanceType = 2, "ami-1", "t3.micro"
		c.Coordinator.Groups = append(c.Coordinator.Groups, g)
		return &c.Coordinator.Groups[len(c.Coordinator.Groups)-1]
	}
	render := func(c *Config) *RenderConfig {
		r := DefaultRenderConfig("w")
		r.Template, r.Destination = "hadoop-workers", "/tmp/workers"
		c.Render = append(c.Render, r)
		return &c.Render[len(c.Render)-1]
	}
	cases := []struct {
		name   string
		mutate func(c *Config)
		want   string
	}{
		{"cluster charset", func(c *Config) { c.Cluster = "Farm_1" }, `cluster: "Farm_1" is not a valid name`},
		{"cluster length", func(c *Config) { c.Cluster = strings.Repeat("a", 64) }, "cluster:"},
		{"data_dir", func(c *Config) { c.DataDir = "" }, "data_dir: required"},
		{"socket", func(c *Config) { c.Socket = "" }, "socket: required"},
		{"socket_mode", func(c *Config) { c.SocketMode = 0o4755 }, "socket_mode: 4755 has bits beyond 0777"},
		{"log_level", func(c *Config) { c.LogLevel = "loud" }, `log_level: unknown level "loud"`},
		{"metrics host not an IP", func(c *Config) { c.MetricsAddr = "metrics.example.com:9946" }, "metrics_addr: \"metrics.example.com:9946\": the host must be an IP address"},
		{"metrics not host:port", func(c *Config) { c.MetricsAddr = "127.0.0.1" }, "metrics_addr: \"127.0.0.1\" is not host:port"},
		{"ui without metrics", func(c *Config) { c.UI, c.MetricsAddr = true, "" }, "ui: the farm page is served on the metrics listener: set metrics_addr too"},
		{"leave_timeout", func(c *Config) { c.LeaveTimeout = 0 }, "leave_timeout: must be a positive duration"},
		{"drain poll negative", func(c *Config) { c.Drain.PollInterval = -time.Second }, "drain.poll_interval: must not be negative"},
		{"drain poll tight", func(c *Config) { c.Drain.PollInterval = time.Millisecond }, "drain.poll_interval: 1ms is too short"},
		{"drain on_drain_timeout", func(c *Config) { c.Drain.OnDrainTimeout = 0 }, "drain.on_drain_timeout: must be a positive duration"},
		{"drain leave_before", func(c *Config) { c.Drain.LeaveBefore = 0 }, "drain.leave_before: must be a positive duration"},
		{"drain rebalance", func(c *Config) { c.Drain.Rebalance = "replace" }, `drain.rebalance: unknown policy "replace"`},
		{"role tag", func(c *Config) { c.Tags["role"] = "x" }, `tags: a "role" tag is not allowed`},
		{"imds url", func(c *Config) { c.Identity.IMDSEndpoint = "169.254.169.254" }, "identity.imds_endpoint: \"169.254.169.254\" is not an http(s) URL"},
		{"private ip", func(c *Config) { c.Identity.PrivateIP = "10.0.0" }, "identity.private_ip"},
		{"profile", func(c *Config) { c.Gossip.Profile = "wan" }, `gossip.profile: unknown profile "wan"`},
		{"bind", func(c *Config) { c.Gossip.BindAddr = "host" }, "gossip.bind_addr"},
		{"port", func(c *Config) { c.Gossip.Port = 70000 }, "gossip.port: 70000 is not a port"},
		{"key length", func(c *Config) { c.Gossip.Keys = [][]byte{make([]byte, 16), make([]byte, 20)} }, "gossip.keys[1]: key decodes to 20 bytes"},
		{"reap_time", func(c *Config) { c.Gossip.ReapTime = -time.Second }, "gossip.reap_time"},
		{"join_fanout", func(c *Config) { c.Gossip.JoinFanout = 0 }, "gossip.join_fanout: must be at least 1"},
		{"prefix", func(c *Config) { c.Registry.Prefix = "/farmhand/" }, "registry.prefix"},
		{"s3 endpoint", func(c *Config) { c.Registry.Endpoint = "localhost:9000" }, "registry.endpoint"},
		{"signing key", func(c *Config) { c.Registry.SigningKey = make([]byte, 8) }, "registry.signing_key: key decodes to 8 bytes"},
		{"require signature", func(c *Config) { c.Registry.RequireSignature = true }, "registry.require_signature: needs registry.signing_key"},
		{"ec2 endpoint", func(c *Config) { c.EC2.Endpoint = "ftp://x" }, "ec2.endpoint"},
		{"freeze zero", func(c *Config) { c.Coordinator.FreezeThreshold = 0 }, "coordinator.freeze_threshold: must be in (0, 1]"},
		{"freeze above one", func(c *Config) { c.Coordinator.FreezeThreshold = 1.5 }, "coordinator.freeze_threshold"},
		{"max_replacements", func(c *Config) { c.Coordinator.MaxReplacements = 0 }, "coordinator.max_replacements"},
		{"silent below dead", func(c *Config) { c.Coordinator.SilentGrace = time.Second }, "coordinator.silent_grace: 1s is shorter than dead_grace 30s"},
		{"stopped below dead", func(c *Config) { c.Coordinator.StoppedGrace = time.Second }, "coordinator.stopped_grace: 1s is shorter than dead_grace 30s"},
		{"negative stopped grace", func(c *Config) { c.Coordinator.StoppedGrace = -time.Second }, "coordinator.stopped_grace"},
		{"unknown rebalance policy", func(c *Config) { c.Coordinator.OnRebalance = "terminate" }, `coordinator.on_rebalance: must be "warn" or "replace", got "terminate"`},
		{"lease_ttl", func(c *Config) { c.Coordinator.LeaseTTL = c.Coordinator.Interval }, "coordinator.lease_ttl"},
		{"handler command", func(c *Config) { c.Handlers = []HandlerConfig{DefaultHandlerConfig("h")} }, `handler["h"].command: required`},
		{"handler event", func(c *Config) {
			h := DefaultHandlerConfig("h")
			h.Command, h.Events = "true", []string{"member-joined"}
			c.Handlers = []HandlerConfig{h}
		}, `handler["h"].events: unknown event "member-joined"; use member-join, member-leave`},
		{"handler timeout", func(c *Config) {
			h := DefaultHandlerConfig("h")
			h.Command, h.Timeout = "true", 0
			c.Handlers = []HandlerConfig{h}
		}, `handler["h"].timeout: must be a positive duration`},
		{"retry_join port", func(c *Config) { c.RetryJoin = []string{"10.0.0.5:0"} }, "retry_join[0]"},
		{"retry_join host", func(c *Config) { c.RetryJoin = []string{"10.0.0.5", "not a host"} }, "retry_join[1]"},
		{"retry_join colon", func(c *Config) { c.RetryJoin = []string{"10.0.0.5:"} }, "retry_join[0]"},
		{"hostname with a space", func(c *Config) { c.Tags["hostname"] = "dn 7" }, "tags: hostname"},
		{"hostname with a #", func(c *Config) { c.Tags["hostname"] = "dn#7" }, "tags: hostname"},
		{"prune_after past reap_time", func(c *Config) { c.Registry.PruneAfter = 25 * time.Hour }, "registry.prune_after"},
		// 12 s leaves a 9 s acting window: no room to renew and retry
		// at 5 s ticks (the coordinator would refuse it at start).
		{"lease_ttl_window", func(c *Config) { c.Coordinator.LeaseTTL = 12 * time.Second }, "coordinator.lease_ttl"},
		{"enabled without groups", func(c *Config) { c.Coordinator.Enabled = true }, "coordinator.enabled"},
		{"group max", func(c *Config) { group(c).Max = 0 }, `coordinator.group["web"].max: required`},
		{"group min above max", func(c *Config) { group(c).Min = 3 }, `coordinator.group["web"].min: min 3 is above max 2`},
		{"group launch spec", func(c *Config) { group(c).ImageID = "" }, `coordinator.group["web"].image_id: required`},
		{"group template version", func(c *Config) { g := group(c); g.LaunchTemplateVersion = "3" }, `coordinator.group["web"].launch_template_version`},
		{"group reserved tag", func(c *Config) { group(c).Tags["farmhand:group"] = "x" }, `coordinator.group["web"].tags: tag "farmhand:group" uses a reserved prefix`},
		{"group duplicate role", func(c *Config) { group(c); g := group(c); g.Name = "web2" }, `coordinator.group["web2"].role: role "web" is already managed by group "web"`},
		{"render template", func(c *Config) { render(c).Template = "" }, `render["w"].template: required`},
		{"render relative", func(c *Config) { render(c).Destination = "workers" }, `render["w"].destination: "workers" is not an absolute path`},
		{"render duplicate destination", func(c *Config) { render(c); r := render(c); r.Name = "w2" }, `render["w2"].destination: "/tmp/workers" is also written by render "w"`},
		{"render status", func(c *Config) { render(c).Status = []string{"alive", "zombie"} }, `render["w"].status: unknown state "zombie"`},
		{"render mode", func(c *Config) { render(c).Mode = 0o1777 }, `render["w"].mode`},
		{"render wait", func(c *Config) { r := render(c); r.WaitMax = time.Second }, `render["w"].wait_max: 1s is below wait_min 2s`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := mustDecode(t, minimalHCL)
			tc.mutate(c)
			err := c.Validate()
			wantErr(t, err, tc.want)
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Errorf("not a *FieldError: %T", err)
			}
		})
	}
}

func TestValidateAcceptsEdgeValues(t *testing.T) {
	c := mustDecode(t, minimalHCL)
	c.MetricsAddr = "localhost:0"
	c.Gossip.Port = 0
	c.Coordinator.FreezeThreshold = 1
	c.Coordinator.SilentGrace = time.Hour
	r := DefaultRenderConfig("all")
	r.Template, r.Destination, r.Status = "json", "/tmp/all.json", nil
	c.Render = append(c.Render, r)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestValidateErrorsNameTheSource checks that a problem found after
// decoding points at the file and line that caused it.
func TestValidateErrorsNameTheSource(t *testing.T) {
	c := decodeAs(t, "v.hcl", `cluster      = "farm"
metrics_addr = "10.0.0.1"
gossip {
  keys = ["`+testKey(16, 1)+`", "`+testKey(10, 2)+`"]
}
registry {
  prefix = "x"
}
render "workers" {
  template = "hadoop-workers"
}
`)
	wantErr(t, c.Validate(),
		`v.hcl:2:1: metrics_addr: "10.0.0.1" is not host:port`,
		"v.hcl:4:3: gossip.keys[1]: key decodes to 10 bytes; AES keys are 16, 24 or 32 bytes",
		"v.hcl:6:1: registry.bucket: required",
		`v.hcl:9:1: render["workers"].destination: required`)
	c = c.Merge(mustEnv(t, map[string]string{"FARMHAND_METRICS_ADDR": "192.168.1.1:99999"}))
	wantErr(t, c.Validate(), "env FARMHAND_METRICS_ADDR: metrics_addr")
}

func mustEnv(t *testing.T, env map[string]string) *Config {
	t.Helper()
	c, err := DecodeEnv(envMap(env))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestWarnings(t *testing.T) {
	c := mustDecode(t, minimalHCL)
	if w := c.Warnings(); len(w) != 1 || !strings.Contains(w[0], "not encrypted") {
		t.Errorf("insecure: %v", w)
	}
	c.Gossip.Keys = [][]byte{make([]byte, 32)}
	if w := c.Warnings(); len(w) != 0 {
		t.Errorf("with a key: %v", w)
	}
	// YARN reads an exclude file whose name ends in .xml as XML.
	r := DefaultRenderConfig("yx")
	r.Template, r.Destination = "yarn-exclude", "/etc/hadoop/conf/yarn.exclude.xml"
	c.Render = append(c.Render, r)
	if w := c.Warnings(); len(w) != 1 || !strings.Contains(w[0], `render "yx"`) || !strings.Contains(w[0], "XML") {
		t.Errorf("yarn-exclude into .xml: %v", w)
	}
	c.Render[0].Destination = "/etc/hadoop/conf/yarn.exclude"
	c.Registry.PruneAfter = time.Minute
	if w := c.Warnings(); len(w) != 1 || !strings.Contains(w[0], "registry.prune_after") {
		t.Errorf("prune_after of a minute: %v", w)
	}
}

// The agent's coordinator defaults are the coordinator package's: one
// lease_ttl default, not two (they were 15 s here and 60 s there).
func TestCoordinatorDefaultsAreTheCoordinators(t *testing.T) {
	got, want := Default().Coordinator, coordinator.DefaultConfig()
	if got.LeaseTTL != want.LeaseTTL || got.Interval != want.Interval || got.DeadGrace != want.DeadGrace ||
		got.BatchWindow != want.BatchWindow || got.NewInstanceGrace != want.NewInstanceGrace || got.SilentGrace != want.SilentGrace || got.StoppedGrace != want.StoppedGrace || got.OnRebalance != want.OnRebalance ||
		got.FreezeThreshold != want.FreezeThreshold || got.MaxReplacements != want.MaxReplacements || got.ReplacementWindow != want.ReplacementWindow {
		t.Fatalf("agent defaults %+v differ from coordinator.DefaultConfig() %+v", got, want)
	}
	if err := coordinator.CheckLeaseTimings(got.Interval, got.LeaseTTL, 0); err != nil {
		t.Fatal(err)
	}
}

// A leave_timeout longer than drain.leave_before is not refused (an old
// config keeps starting): the agent leaves the longer of the two ahead.
func TestDrainLeaveLead(t *testing.T) {
	c := mustDecode(t, minimalHCL)
	c.LeaveTimeout = time.Minute
	if err := c.Validate(); err != nil {
		t.Fatalf("leave_timeout 1m with the default leave_before: %v", err)
	}
	if got := c.DrainLeaveLead(); got != time.Minute {
		t.Errorf("lead %s, want leave_timeout's 1m", got)
	}
	c.LeaveTimeout = 5 * time.Second
	if got := c.DrainLeaveLead(); got != 15*time.Second {
		t.Errorf("lead %s, want leave_before's 15s", got)
	}
}

// TestMetricsAddrMayBeNonLoopback checks that a central Prometheus may
// scrape the agent: any IP address is valid; IsLoopbackAddr tells the
// agent when to warn.
func TestMetricsAddrMayBeNonLoopback(t *testing.T) {
	for addr, loopback := range map[string]bool{
		"127.0.0.1:9946": true, "[::1]:9946": true, "localhost:9946": true,
		"0.0.0.0:9946": false, "10.0.0.1:9946": false, "[::]:9946": false,
	} {
		c := Default()
		c.Cluster, c.Registry.Bucket, c.Gossip.Insecure, c.MetricsAddr = "farm", "b", true, addr
		if err := c.Validate(); err != nil {
			t.Errorf("metrics_addr %s refused: %v", addr, err)
		}
		if IsLoopbackAddr(addr) != loopback {
			t.Errorf("IsLoopbackAddr(%s) = %v, want %v", addr, !loopback, loopback)
		}
	}
}
