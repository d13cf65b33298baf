package testbed

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Config describes a farm.
type Config struct {
	// Dir holds testbed.json, the control socket and one folder per
	// instance (config, socket, data dir, log). Required.
	Dir string
	// Nodes is how many instances to launch at start.
	Nodes int
	// Cluster is the cluster name. Default "testbed".
	Cluster string
	// Coordinator enables coordinator mode on every instance (the S3 lease
	// elects one leader). The group is "worker" with min = Nodes.
	Coordinator bool
	// CoordinatorHCL overrides the coordinator block's settings (HCL
	// attributes placed inside `coordinator { ... }`), e.g. timings in tests.
	CoordinatorHCL string
	// GroupHCL overrides the settings of the coordinator's group (HCL
	// attributes placed inside `group "worker" { ... }`), e.g. subnets.
	GroupHCL string
	// GossipKeyFile is the gossip key file the agents read (gossip.key_file:
	// one base64 key per line, the first primary). Empty runs gossip
	// unencrypted (gossip.insecure = true).
	GossipKeyFile string
	// RegistryHCL overrides the registry block's settings (HCL attributes
	// placed inside `registry { ... }`), e.g. signing_key.
	RegistryHCL string
	// Netns runs each instance in its own network namespace (root only);
	// otherwise instances get 127.x.y.z addresses.
	Netns bool
	// S3Endpoint and S3Bucket select an external S3-compatible server.
	// Empty: embedded S3. Its credentials come from the environment (see
	// CredentialsHelp), and Start checks them before launching anything.
	S3Endpoint string
	S3Bucket   string
	// Bin is the farmhand binary the instances run. Default: this executable.
	Bin string
	// Profile is the agents' gossip profile: "local" (fast timers, the
	// default, so a demo forms and detects failures in seconds) or "lan".
	Profile string
	// LogLevel is the agents' log level. Default "info".
	LogLevel string
	// ExtraHCL is appended to the instances' shared ("AMI") config, for
	// render blocks and the like.
	ExtraHCL string
	// LaunchDelay is how long RunInstances takes before an instance boots.
	LaunchDelay time.Duration
	// Logger receives the testbed's own log.
	Logger hclog.Logger
}

// DefaultConfig returns a 5-node farm with the embedded S3.
func DefaultConfig() Config {
	return Config{
		Nodes:    5,
		Cluster:  "testbed",
		Profile:  "local",
		LogLevel: "info",
	}
}

// Validate checks the config and fills defaults.
func (c *Config) Validate() error {
	var errs []error
	if c.Dir == "" {
		errs = append(errs, errors.New("-dir is required: the testbed keeps its state and instance folders there"))
	}
	if c.Nodes < 0 || c.Nodes > 200 {
		errs = append(errs, fmt.Errorf("-nodes %d: want 0 to 200", c.Nodes))
	}
	if (c.S3Endpoint == "") != (c.S3Bucket == "") {
		errs = append(errs, errors.New("-s3-endpoint and -s3-bucket go together"))
	}
	if c.Netns {
		if err := CanUseNetns(); err != nil {
			errs = append(errs, fmt.Errorf("-netns: %w", err))
		}
	}
	if c.Cluster == "" {
		c.Cluster = "testbed"
	}
	if c.Profile == "" {
		c.Profile = "local"
	}
	if c.LogLevel == "" {
		c.LogLevel = "info"
	}
	if c.Logger == nil {
		c.Logger = hclog.NewNullLogger()
	}
	if c.Bin == "" {
		exe, err := os.Executable()
		if err != nil {
			errs = append(errs, fmt.Errorf("cannot find the farmhand binary: %w", err))
		}
		c.Bin = exe
	}
	if c.Dir != "" {
		abs, err := filepath.Abs(c.Dir)
		if err != nil {
			errs = append(errs, fmt.Errorf("-dir %s: %w", c.Dir, err))
		}
		c.Dir = abs
	}
	return errors.Join(errs...)
}
