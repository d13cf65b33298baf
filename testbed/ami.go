package testbed

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// writeAMIConfig writes the agents' shared config: what a user would bake
// into the AMI. Nothing in it is per instance; each agent learns who it is
// from its IMDS, as on EC2. Only the socket, data dir and IMDS endpoint are
// given per process, because the instances share this machine's file system.
func (tb *Testbed) writeAMIConfig() error {
	var b strings.Builder
	fmt.Fprintf(&b, "# farmhand-testbed: the config baked into the emulated AMI %s\n", ImageID)
	fmt.Fprintf(&b, "cluster   = %q\n", tb.cfg.Cluster)
	fmt.Fprintf(&b, "role      = %q\n", Group)
	fmt.Fprintf(&b, "log_level = %q\n", tb.cfg.LogLevel)
	fmt.Fprintf(&b, "leave_timeout = \"5s\"\n\n")
	gossip := [][2]string{{"profile", fmt.Sprintf("%q", tb.cfg.Profile)}, {"port", "7946"}}
	if tb.cfg.GossipKeyFile != "" {
		gossip = append(gossip, [2]string{"key_file", fmt.Sprintf("%q", tb.cfg.GossipKeyFile)})
	} else {
		gossip = append(gossip, [2]string{"insecure", "true"})
	}
	fmt.Fprintf(&b, "gossip {\n%s\n}\n\n", blockBody(gossip, "", 1))
	registry := [][2]string{
		{"bucket", fmt.Sprintf("%q", tb.bucket)},
		{"prefix", fmt.Sprintf("%q", registryPfx)},
		{"region", fmt.Sprintf("%q", Region)},
		{"endpoint", fmt.Sprintf("%q", tb.s3URL)},
		{"path_style", "true"},
	}
	fmt.Fprintf(&b, "registry {\n%s\n}\n\n", blockBody(registry, tb.cfg.RegistryHCL, 1))
	fmt.Fprintf(&b, "ec2 {\n  region   = %q\n  endpoint = %q\n}\n", Region, tb.ec2URL)
	if tb.cfg.Coordinator {
		group := [][2]string{
			{"min", fmt.Sprint(tb.cfg.Nodes)},
			{"max", fmt.Sprint(tb.cfg.Nodes * 2)},
			{"image_id", fmt.Sprintf("%q", ImageID)},
			{"instance_type", fmt.Sprintf("%q", InstanceType)},
			{"tags", fmt.Sprintf(`{ Name = "%s-%s" }`, tb.cfg.Cluster, Group)},
		}
		fmt.Fprintf(&b, "\ncoordinator {\n  enabled = true\n%s\n\n  group %q {\n%s\n  }\n}\n",
			blockBody(coordinatorDefaults, tb.cfg.CoordinatorHCL, 1), Group, blockBody(group, tb.cfg.GroupHCL, 2))
	}
	if tb.cfg.ExtraHCL != "" {
		b.WriteString("\n" + tb.cfg.ExtraHCL + "\n")
	}
	tb.amiPath = filepath.Join(tb.cfg.Dir, "ami.hcl")
	return os.WriteFile(tb.amiPath, []byte(b.String()), 0o644)
}

// coordinatorDefaults are the testbed's fast coordinator timings; an
// attribute that CoordinatorHCL sets replaces its default (HCL forbids
// setting one twice).
var coordinatorDefaults = [][2]string{
	{"interval", `"1s"`},
	{"dead_grace", `"3s"`},
	{"new_instance_grace", `"10s"`},
	{"lease_ttl", `"6s"`},
}

var hclAttr = regexp.MustCompile(`(?m)^\s*([A-Za-z_][A-Za-z0-9_-]*)\s*=`)

// blockBody is the body of a block at nesting depth: the default
// attributes that override does not set, then override, so an attribute
// set in override replaces its default.
func blockBody(defaults [][2]string, override string, depth int) string {
	set := map[string]bool{}
	for _, m := range hclAttr.FindAllStringSubmatch(override, -1) {
		set[m[1]] = true
	}
	var lines []string
	for _, d := range defaults {
		if !set[d[0]] {
			lines = append(lines, fmt.Sprintf("%s = %s", d[0], d[1]))
		}
	}
	if s := strings.TrimSpace(override); s != "" {
		lines = append(lines, s)
	}
	return indent(strings.Join(lines, "\n"), depth)
}

// indent indents every line of s by depth levels of two spaces.
func indent(s string, depth int) string {
	if s == "" {
		return ""
	}
	pad := strings.Repeat("  ", depth)
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i, l := range lines {
		lines[i] = pad + strings.TrimSpace(l)
	}
	return strings.Join(lines, "\n")
}
