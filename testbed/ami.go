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
	fmt.Fprintf(&b, "# farmhand testbed: the config baked into the emulated AMI %s\n", ImageID)
	fmt.Fprintf(&b, "cluster   = %q\n", tb.cfg.Cluster)
	fmt.Fprintf(&b, "role      = %q\n", Group)
	fmt.Fprintf(&b, "log_level = %q\n", tb.cfg.LogLevel)
	fmt.Fprintf(&b, "leave_timeout = \"5s\"\n\n")
	fmt.Fprintf(&b, "gossip {\n  profile  = %q\n  port     = 7946\n  insecure = true\n}\n\n", tb.cfg.Profile)
	fmt.Fprintf(&b, "registry {\n  bucket     = %q\n  prefix     = %q\n  region     = %q\n  endpoint   = %q\n  path_style = true\n}\n\n",
		tb.bucket, registryPfx, Region, tb.s3URL)
	fmt.Fprintf(&b, "ec2 {\n  region   = %q\n  endpoint = %q\n}\n", Region, tb.ec2URL)
	if tb.cfg.Coordinator {
		fmt.Fprintf(&b, `
coordinator {
  enabled = true
%s
  group %q {
    min           = %d
    max           = %d
    image_id      = %q
    instance_type = %q
    tags          = { Name = "%s-%s" }
  }
}
`, coordinatorSettings(tb.cfg.CoordinatorHCL), Group, tb.cfg.Nodes, tb.cfg.Nodes*2, ImageID, InstanceType, tb.cfg.Cluster, Group)
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

// coordinatorSettings is the body of the coordinator block before its
// group: the defaults CoordinatorHCL does not set, then CoordinatorHCL.
func coordinatorSettings(override string) string {
	set := map[string]bool{}
	for _, m := range hclAttr.FindAllStringSubmatch(override, -1) {
		set[m[1]] = true
	}
	var lines []string
	for _, d := range coordinatorDefaults {
		if !set[d[0]] {
			lines = append(lines, fmt.Sprintf("%s = %s", d[0], d[1]))
		}
	}
	if s := strings.TrimSpace(override); s != "" {
		lines = append(lines, s)
	}
	return indent(strings.Join(lines, "\n"))
}

func indent(s string) string {
	if s == "" {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i, l := range lines {
		lines[i] = "  " + strings.TrimSpace(l)
	}
	return strings.Join(lines, "\n")
}
