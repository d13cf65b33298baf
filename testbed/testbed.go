package testbed

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/hashicorp/go-hclog"

	"github.com/farmhand/farmhand/bootstrap/awscall"
	"github.com/farmhand/farmhand/testbed/ec2emu"
	"github.com/farmhand/farmhand/testbed/s3emu"
)

// Fixed facts of the emulated account.
const (
	Region       = "us-east-1"
	ImageID      = "ami-0fa4a2b7c3d5e6f70"
	InstanceType = "t3.micro"
	Group        = "worker"
	accessKey    = "testbed"
	secretKey    = "testbed-secret"
	registryPfx  = "farmhand"
	defaultBkt   = "farmhand"
)

// Testbed is a running farm. Create it with Start; Close tears it down.
type Testbed struct {
	cfg    Config
	logger hclog.Logger

	s3 *s3emu.Server // nil with an external S3
	// createdBucket is set when Start created the external bucket
	// (-s3-create-bucket): Close removes it unless S3KeepBucket.
	createdBucket bool
	s3URL         string
	bucket        string
	ec2           *ec2emu.Server
	ec2URL        string
	net           *netnsOps // nil in loopback mode
	hostIP        string    // where emulators listen
	amiPath       string    // the shared agent config
	control       *controlServer
	ctlCtx        context.Context
	ctlStop       context.CancelFunc
	ctlDone       chan struct{}
	closeErr      error

	mu        sync.Mutex
	instances map[string]*instance // by id
	order     []string             // launch order
	closed    bool
}

// Start brings the farm up: S3, the EC2 and IMDS emulators, then Nodes
// instances launched through the EC2 API exactly as a user would. It
// returns once every instance's agent process has started (not necessarily
// joined: use the agents' sockets to wait for that). On error, whatever was
// started is torn down.
func Start(ctx context.Context, cfg Config) (*Testbed, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(cfg.Dir, "instances"), 0o755); err != nil {
		return nil, fmt.Errorf("-dir %s: %w", cfg.Dir, err)
	}
	if st, err := ReadState(cfg.Dir); err == nil && st.PID != os.Getpid() && processAlive(st.PID) {
		return nil, fmt.Errorf("a testbed (pid %d) is already running in %s; stop it or use another -dir", st.PID, cfg.Dir)
	}
	tb := &Testbed{cfg: cfg, logger: cfg.Logger, instances: map[string]*instance{}}
	started := false
	defer func() {
		if !started {
			tb.Close()
		}
	}()

	// Addresses: a /23 of our own so concurrent testbeds never collide.
	nops, err := claimSubnet(cfg.Netns)
	if err != nil {
		return nil, err
	}
	tb.net = nops
	if cfg.Netns {
		if err := nops.setupBridge(ctx); err != nil {
			return nil, fmt.Errorf("netns bridge: %w", err)
		}
		tb.hostIP = nops.hostIP()
	} else {
		tb.hostIP = "127.0.0.1"
	}

	if err := tb.startS3(ctx); err != nil {
		return nil, err
	}
	if err := tb.startEC2(); err != nil {
		return nil, err
	}
	if err := tb.writeAMIConfig(); err != nil {
		return nil, err
	}
	if err := tb.startControl(); err != nil {
		return nil, err
	}
	if err := tb.saveState(); err != nil {
		return nil, err
	}
	if cfg.Nodes > 0 {
		if _, err := tb.LaunchWith(ctx, LaunchOptions{Count: cfg.Nodes, Spot: cfg.Spot, Interruption: cfg.SpotInterruption}); err != nil {
			return nil, err
		}
	}
	started = true
	return tb, nil
}

func (tb *Testbed) startS3(ctx context.Context) error {
	if tb.cfg.S3Endpoint != "" {
		tb.s3URL, tb.bucket = tb.cfg.S3Endpoint, tb.cfg.S3Bucket
		env, source := externalS3Env(osGetenv)
		if tb.cfg.S3CreateBucket && env != nil {
			created, err := createExternalBucket(ctx, tb.s3URL, tb.bucket, env)
			if err != nil {
				return err
			}
			tb.createdBucket = created
			if created {
				tb.logger.Info("created the bucket for this farm; teardown removes it unless -s3-keep-bucket", "bucket", tb.bucket, "endpoint", tb.s3URL)
			} else {
				tb.logger.Info("the bucket exists already: using it, and keeping it at teardown", "bucket", tb.bucket, "endpoint", tb.s3URL)
			}
		}
		return checkExternalS3(ctx, tb.s3URL, tb.bucket, env, source)
	}
	srv, err := s3emu.Start(net.JoinHostPort(tb.hostIP, "0"), s3emu.Config{Bucket: defaultBkt, Logger: tb.logger.Named("s3")})
	if err != nil {
		return fmt.Errorf("embedded S3: %w", err)
	}
	tb.s3, tb.s3URL, tb.bucket = srv, srv.URL(), defaultBkt
	return nil
}

func (tb *Testbed) startEC2() error {
	ec := ec2emu.DefaultConfig()
	ec.Region = Region
	ec.Subnets = planEC2Subnets(tb.net.block)
	ec.BootDelay = tb.cfg.BootDelay
	ec.Logger = tb.logger.Named("ec2")
	ec.Hooks = ec2emu.Hooks{
		OnLaunch:    tb.onLaunch,
		OnStart:     tb.onLaunch, // the same machine boots again
		OnReboot:    tb.onReboot,
		OnStop:      tb.onStop,
		OnTerminate: tb.onTerminate,
	}
	srv, err := ec2emu.Start(net.JoinHostPort(tb.hostIP, "0"), ec)
	if err != nil {
		return fmt.Errorf("EC2 emulator: %w", err)
	}
	tb.ec2, tb.ec2URL = srv, srv.URL()
	return nil
}

// ec2Client returns an aws-sdk-go-v2 EC2 client for the emulator.
func (tb *Testbed) ec2Client() *ec2.Client { return tb.ec2ClientAs(accessKey) }

// ec2ClientAs is ec2Client signing with access key id key (e.g. the Auto
// Scaling principal's).
func (tb *Testbed) ec2ClientAs(key string) *ec2.Client {
	return ec2.New(ec2.Options{
		Region:       Region,
		BaseEndpoint: aws.String(tb.ec2URL),
		Credentials:  credentials.NewStaticCredentialsProvider(key, secretKey, ""),
		HTTPClient:   awscall.NewHTTPClient(""),
	})
}

// LaunchOptions describe one RunInstances call of the testbed.
type LaunchOptions struct {
	// Count is how many instances to launch (at least 1).
	Count int
	// Subnet is the subnet id to launch into; empty lets EC2 pick.
	Subnet string
	// PrivateIP asks for this address (PrivateIpAddress; Count must be 1).
	PrivateIP string
	// Spot launches Spot Instances (InstanceMarketOptions), which
	// 'testbed interrupt' and 'testbed rebalance' can then act on.
	Spot bool
	// Interruption is the Spot Instances' interruption behaviour:
	// terminate (the default, a one-time request), stop or hibernate (a
	// persistent request, as EC2 requires).
	Interruption string
	// ASG launches the instances as the Auto Scaling group of that name
	// does: tagged aws:autoscaling:groupName, a tag only the Auto Scaling
	// principal may set. The group owns them.
	ASG string
}

// Launch starts n instances through RunInstances, tagged as the
// coordinator would tag them, and returns their ids once each has booted
// (its agent process started) or left pending otherwise (stopped or
// terminated meanwhile). An instance whose boot failed is an error.
func (tb *Testbed) Launch(ctx context.Context, n int) ([]string, error) {
	return tb.LaunchWith(ctx, LaunchOptions{Count: n})
}

// LaunchWith is Launch with the options of o. One RunInstances call puts
// all its instances in one subnet, as on EC2, so more instances than a
// subnet holds (and no subnet or address named) go in several calls, each
// to the next subnet with room.
func (tb *Testbed) LaunchWith(ctx context.Context, o LaunchOptions) ([]string, error) {
	if o.Count < 1 {
		return nil, errors.New("launch: count must be at least 1")
	}
	var ids []string
	for left := o.Count; left > 0; {
		call := o
		if o.Subnet == "" && o.PrivateIP == "" {
			call.Count = min(left, subnetSize)
		}
		got, err := tb.runInstances(ctx, call)
		ids = append(ids, got...)
		if err != nil {
			return ids, err
		}
		left -= call.Count
	}
	return ids, tb.waitBooted(ctx, ids)
}

// runInstances makes one RunInstances call for o.
func (tb *Testbed) runInstances(ctx context.Context, o LaunchOptions) ([]string, error) {
	in := &ec2.RunInstancesInput{
		ImageId:      aws.String(ImageID),
		InstanceType: ec2types.InstanceType(InstanceType),
		MinCount:     aws.Int32(int32(o.Count)),
		MaxCount:     aws.Int32(int32(o.Count)),
		TagSpecifications: []ec2types.TagSpecification{{
			ResourceType: ec2types.ResourceTypeInstance,
			Tags: []ec2types.Tag{
				{Key: aws.String("farmhand:cluster"), Value: aws.String(tb.cfg.Cluster)},
				{Key: aws.String("farmhand:group"), Value: aws.String(Group)},
				{Key: aws.String("Name"), Value: aws.String(tb.cfg.Cluster + "-" + Group)},
			},
		}},
	}
	if o.Subnet != "" {
		in.SubnetId = aws.String(o.Subnet)
	}
	if o.PrivateIP != "" {
		in.PrivateIpAddress = aws.String(o.PrivateIP)
	}
	switch {
	case o.Spot:
		opts := &ec2types.SpotMarketOptions{InstanceInterruptionBehavior: ec2types.InstanceInterruptionBehavior(o.Interruption)}
		if o.Interruption != "" && o.Interruption != ec2emu.SpotTerminate {
			opts.SpotInstanceType = ec2types.SpotInstanceTypePersistent
		}
		in.InstanceMarketOptions = &ec2types.InstanceMarketOptionsRequest{MarketType: ec2types.MarketTypeSpot, SpotOptions: opts}
	case o.Interruption != "":
		return nil, errors.New("launch: an interruption behaviour is for Spot Instances: add -spot")
	}
	client := tb.ec2Client()
	if o.ASG != "" {
		tags := &in.TagSpecifications[0].Tags
		*tags = append(*tags, ec2types.Tag{Key: aws.String(ec2emu.TagAutoScalingGroup), Value: aws.String(o.ASG)})
		client = tb.ec2ClientAs(ec2emu.DefaultAutoScalingAccessKeyID)
	}
	out, err := client.RunInstances(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("RunInstances: %w", err)
	}
	ids := make([]string, 0, len(out.Instances))
	for _, in := range out.Instances {
		ids = append(ids, aws.ToString(in.InstanceId))
	}
	return ids, nil
}

// waitBooted waits until none of ids is pending in the EC2 emulator, which
// moves an instance to running only once its launch hook has started the
// agent process.
func (tb *Testbed) waitBooted(ctx context.Context, ids []string) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		pending := 0
		now := map[string]ec2emu.Instance{}
		for _, in := range tb.ec2.Instances() {
			now[in.ID] = in
		}
		for _, id := range ids {
			in, ok := now[id]
			switch {
			case !ok:
				return fmt.Errorf("instance %s vanished from the EC2 emulator while booting", id)
			case in.State == ec2emu.StateTerminated && strings.HasPrefix(in.StateReason, "Server.InternalError"):
				return fmt.Errorf("instance %s failed to boot (%s); see the testbed log and %s",
					id, in.StateReason, filepath.Join(tb.cfg.Dir, "instances", id, "agent.log"))
			case in.State == ec2emu.StatePending:
				pending++
			}
		}
		if pending == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for instances %v to boot: %w", ids, ctx.Err())
		case <-tick.C:
		}
	}
}

// S3 returns the embedded S3 server, or nil with an external one.
func (tb *Testbed) S3() *s3emu.Server { return tb.s3 }

// EC2 returns the EC2 emulator.
func (tb *Testbed) EC2() *ec2emu.Server { return tb.ec2 }

// Dir is the testbed directory.
func (tb *Testbed) Dir() string { return tb.cfg.Dir }

// State returns what testbed.json says now.
func (tb *Testbed) State() *State {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return tb.stateLocked()
}

func (tb *Testbed) stateLocked() *State {
	s := &State{
		Cluster: tb.cfg.Cluster,
		PID:     os.Getpid(),
		Netns:   tb.cfg.Netns,
		Control: filepath.Join(tb.cfg.Dir, ControlSocket),
		S3:      S3State{Endpoint: tb.s3URL, Bucket: tb.bucket, Prefix: registryPfx, Region: Region, Embedded: tb.s3 != nil},
		EC2:     EC2State{Endpoint: tb.ec2URL, Region: Region, ImageID: ImageID, AutoScalingAccessKeyID: ec2emu.DefaultAutoScalingAccessKeyID},
	}
	if tb.cfg.Netns && tb.net != nil {
		s.Bridge = tb.net.bridge
	}
	ec := map[string]ec2emu.Instance{}
	if tb.ec2 != nil {
		for _, ei := range tb.ec2.Instances() {
			ec[ei.ID] = ei
		}
	}
	for _, id := range tb.order {
		s.Instances = append(s.Instances, tb.instances[id].stateLocked(ec[id]))
	}
	return s
}

func (tb *Testbed) saveState() error {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return tb.saveStateLocked()
}

func (tb *Testbed) saveStateLocked() error {
	if tb.closed {
		return nil
	}
	return writeState(tb.cfg.Dir, tb.stateLocked())
}

// Instances returns the ids of instances whose EC2 state is not terminated,
// in launch order.
func (tb *Testbed) Instances() []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	var ids []string
	for _, id := range tb.order {
		if tb.instances[id].ec2State != "terminated" {
			ids = append(ids, id)
		}
	}
	return ids
}

// Close tears everything down: agent processes (SIGTERM, then SIGKILL),
// namespaces, the bridge, sockets and the emulators. Safe to call twice.
func (tb *Testbed) Close() error {
	tb.mu.Lock()
	if tb.closed {
		tb.mu.Unlock()
		return tb.closeErr
	}
	tb.closed = true
	tb.mu.Unlock()

	var errs []error
	if tb.control != nil {
		tb.ctlStop()
		<-tb.ctlDone
	}
	// The EC2 emulator first: its Close waits for launches in flight, so
	// no agent starts after the list below is taken, and no coordinator
	// watching its peers leave can top the group up.
	if tb.ec2 != nil {
		tb.ec2.Close()
	}
	tb.mu.Lock()
	insts := make([]*instance, 0, len(tb.instances))
	for _, in := range tb.instances {
		insts = append(insts, in)
	}
	tb.mu.Unlock()
	// Agents next, in parallel: each gets a graceful stop.
	var wg sync.WaitGroup
	for _, in := range insts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in.stopProcess(stopGraceful)
		}()
	}
	wg.Wait()
	for _, in := range insts {
		in.closeIMDS()
		// A crashed (SIGKILLed) agent leaves its socket behind.
		if err := os.Remove(in.socket()); err != nil && !os.IsNotExist(err) {
			errs = append(errs, err)
		}
	}
	if err := tb.closeBucket(); err != nil {
		errs = append(errs, err)
	}
	if tb.s3 != nil {
		tb.s3.Close()
	}
	if tb.net != nil && tb.net.bridgeUp {
		ctx := context.Background()
		sort.Slice(insts, func(i, j int) bool { return insts[i].id < insts[j].id })
		for _, in := range insts {
			if in.netns != "" {
				if err := delHost(ctx, in.netns); err != nil {
					errs = append(errs, err)
				}
			}
		}
		if err := delBridge(ctx, tb.net.bridge); err != nil {
			errs = append(errs, err)
		}
	}
	if tb.net != nil {
		tb.net.release()
	}
	os.Remove(filepath.Join(tb.cfg.Dir, StateFile))
	os.Remove(filepath.Join(tb.cfg.Dir, ControlSocket))
	tb.closeErr = errors.Join(errs...)
	return tb.closeErr
}
