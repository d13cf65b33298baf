package testbed

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/farmhand/farmhand/testbed/ec2emu"
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
	// Netns runs each instance in its own network namespace (root only)
	// with an address in 198.19.0.0/16; otherwise instances get addresses
	// in 127.20.0.0/15 (see the address plan in addrplan.go).
	Netns bool
	// S3Endpoint and S3Bucket select an external S3-compatible server.
	// Empty: embedded S3. Its credentials come from the environment (see
	// CredentialsHelp), and Start checks them before launching anything.
	S3Endpoint string
	S3Bucket   string
	// S3CreateBucket creates S3Bucket at S3Endpoint at start (an existing
	// bucket of the same owner is used), and Close removes a bucket it
	// created, with its objects, unless S3KeepBucket.
	S3CreateBucket bool
	S3KeepBucket   bool
	// UI turns the farm page on (ui = true) for the first instance's
	// agent, at http://<its 127.x address>:PagePort/; loopback mode only.
	UI bool
	// Bin is the farmhand binary the instances run. Default: DefaultBin,
	// that is $FARMHAND_BIN, else the farmhand next to this executable.
	Bin string
	// Profile is the agents' gossip profile: "local" (fast timers, the
	// default, so a demo forms and detects failures in seconds) or "lan".
	Profile string
	// LogLevel is the agents' log level. Default "info".
	LogLevel string
	// ExtraHCL is appended to the instances' shared ("AMI") config, for
	// render blocks and the like.
	ExtraHCL string
	// InstanceHCL, when set, gives each instance a config file of its own
	// (instance.hcl in its folder, read after the shared one), e.g. render
	// blocks whose destinations lie in that folder. In-process use only.
	InstanceHCL func(id, dir string) string `json:"-"`
	// Spot launches the farm's instances as Spot Instances, with the
	// interruption behaviour SpotInterruption (terminate when empty; stop
	// or hibernate make persistent requests).
	Spot             bool
	SpotInterruption string
	// BootDelay is how long an instance stays pending after RunInstances
	// or StartInstances before its agent starts: fixed or, as on EC2, a
	// spread ("5s-15s"). Zero (the default) boots at once, which tests
	// that need speed keep.
	BootDelay ec2emu.Delay
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
	if c.Nodes < 0 || c.Nodes > MaxInstances {
		errs = append(errs, fmt.Errorf("-nodes %d: want 0 to %d (the addresses of the testbed's three /25 subnets)", c.Nodes, MaxInstances))
	}
	if (c.S3Endpoint == "") != (c.S3Bucket == "") {
		errs = append(errs, errors.New("-s3-endpoint and -s3-bucket go together"))
	}
	if c.S3CreateBucket && c.S3Endpoint == "" {
		errs = append(errs, errors.New("-s3-create-bucket needs -s3-endpoint and -s3-bucket (the embedded S3 makes its own bucket)"))
	}
	if c.UI && c.Netns {
		errs = append(errs, errors.New("-ui needs loopback mode, not -netns: the page is served on a loopback address, and a namespace's loopback is its own"))
	}
	if c.S3KeepBucket && !c.S3CreateBucket {
		errs = append(errs, errors.New("-s3-keep-bucket needs -s3-create-bucket (a bucket the testbed did not create is always kept)"))
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
		c.Bin = DefaultBin()
	}
	if err := checkBin(c.Bin); err != nil {
		errs = append(errs, err)
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

// DefaultBin is the farmhand binary a testbed runs when Config.Bin is
// empty: $FARMHAND_BIN when set, else "farmhand" in the directory of this
// executable (make build puts bin/farmhand beside bin/farmhand-testbed).
func DefaultBin() string {
	if p := os.Getenv("FARMHAND_BIN"); p != "" {
		return p
	}
	exe, err := os.Executable()
	if err != nil {
		return "farmhand"
	}
	return filepath.Join(filepath.Dir(exe), "farmhand")
}

// binHint says how to give a testbed its farmhand binary.
const binHint = "build it with 'make build', or pass -bin PATH (or set FARMHAND_BIN)"

// checkBin makes sure bin is an executable file.
func checkBin(bin string) error {
	st, err := os.Stat(bin)
	if err != nil {
		return fmt.Errorf("no farmhand binary at %s: %s", bin, binHint)
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable farmhand binary: %s", bin, binHint)
	}
	return nil
}

// CheckFarmhandBinary makes sure bin is a farmhand agent binary: it exists,
// and `bin version` says farmhand, so that a typo or the testbed binary
// itself is caught before any instance launches. farmhand-testbed checks
// its -bin with it.
func CheckFarmhandBinary(bin string) error {
	if err := checkBin(bin); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "version").Output()
	if err != nil {
		return fmt.Errorf("%s is not a farmhand agent binary ('%s version' failed: %v): %s", bin, filepath.Base(bin), err, binHint)
	}
	if !strings.HasPrefix(string(out), "farmhand ") {
		return fmt.Errorf("%s is not a farmhand agent binary ('%s version' said %q): %s", bin, filepath.Base(bin), strings.TrimSpace(string(out)), binHint)
	}
	return nil
}
