package ec2emu

import (
	"context"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jonboulle/clockwork"
)

// Config configures a Server. Start from DefaultConfig.
type Config struct {
	// Region is the region the emulator pretends to be, e.g. "us-east-1";
	// it names the private DNS domain.
	Region string
	// AccountID is the owner id reported on reservations and in instance
	// profile ARNs.
	AccountID string
	// VpcID is the VPC every subnet and instance belongs to.
	VpcID string
	// Subnets are the subnets RunInstances accepts. A request without
	// SubnetId (and without Placement.AvailabilityZone or
	// PrivateIpAddress) goes to them in turn, skipping full ones, which
	// spreads instances over the zones. Must not be empty; their CIDR
	// blocks must not overlap.
	Subnets []Subnet
	// AddressPolicy picks a subnet's next free address (AddressLowest
	// when empty). An address returns to its subnet's pool when its
	// instance is terminated, as on EC2.
	AddressPolicy AddressPolicy
	// LaunchTemplates are the templates RunInstances accepts by
	// LaunchTemplateId or LaunchTemplateName; they fill the parameters the
	// request leaves out.
	LaunchTemplates []LaunchTemplate
	// BootDelay is how long an instance stays pending before OnLaunch (or
	// OnStart) is called: fixed, or drawn per boot from a range;
	// SetBootDelay changes it at run time.
	BootDelay Delay
	// AutoScalingAccessKeyID is the access key id whose requests act as
	// the Auto Scaling service: they may set the aws:autoscaling:groupName
	// tag (RunInstances' TagSpecifications, CreateTags), which EC2 refuses
	// to everyone else, as it refuses every "aws:" tag. Empty: nobody may.
	AutoScalingAccessKeyID string
	// TerminatedTTL is how long a terminated instance stays visible to
	// Describe* calls before it vanishes (EC2 keeps them about an hour).
	TerminatedTTL time.Duration
	// Hooks connect instances to real processes; all are optional.
	Hooks Hooks
	// Clock times launches, launch times and the terminated TTL.
	Clock clockwork.Clock
	// Logger receives one line per lifecycle event and hook failure.
	Logger hclog.Logger
}

// Subnet is one subnet of the emulated VPC.
type Subnet struct {
	// ID is the subnet id, e.g. "subnet-0a1b2c3d4e5f60718".
	ID string
	// AvailabilityZone is the zone the subnet lives in, e.g. "us-east-1a".
	AvailabilityZone string
	// CIDR is the subnet's IPv4 block, /16 to /28, e.g. "10.0.0.0/20".
	// Instances get addresses from it; as on EC2, the first four and the
	// last address are reserved.
	CIDR string
}

// LaunchTemplate is a launch template RunInstances may name. Empty fields
// leave the request's own values (or the defaults) in place.
type LaunchTemplate struct {
	// ID is the template id, e.g. "lt-0123456789abcdef0".
	ID string
	// Name is the template name.
	Name string
	// ImageID is the AMI used when the request has no ImageId.
	ImageID string
	// InstanceType is used when the request has no InstanceType.
	InstanceType string
	// SubnetID is used when the request has no SubnetId.
	SubnetID string
	// SecurityGroupIDs are used when the request names none.
	SecurityGroupIDs []string
	// Tags are added to the instance under the request's own tags.
	Tags map[string]string
}

// Hooks let the host run real processes for instances. Every hook is
// optional. For one instance the hooks never run concurrently: OnStop,
// OnTerminate and OnReboot wait for a running OnLaunch or OnStart, and are
// called only for an instance whose OnLaunch or OnStart returned nil and
// that has not been stopped since. The context passed in is cancelled by
// Close.
type Hooks struct {
	// OnLaunch starts the instance, BootDelay after RunInstances, in its
	// own goroutine. nil error: pending -> running. An error terminates the
	// instance with reason Server.InternalError.
	OnLaunch func(ctx context.Context, inst Instance) error
	// OnStart boots a stopped instance again, BootDelay after
	// StartInstances: same id, address and everything else. nil error:
	// pending -> running; an error stops it again with reason
	// Server.InternalError. Nil: OnLaunch does it.
	OnStart func(ctx context.Context, inst Instance) error
	// OnReboot restarts a running instance's OS after RebootInstances; the
	// instance stays running (an error is logged only).
	OnReboot func(ctx context.Context, inst Instance) error
	// OnStop stops a launched instance after StopInstances (stopping ->
	// stopped once it returns; an error is logged only).
	OnStop func(ctx context.Context, inst Instance) error
	// OnTerminate stops a launched instance for good after
	// TerminateInstances (shutting-down -> terminated once it returns; an
	// error is logged only).
	OnTerminate func(ctx context.Context, inst Instance) error
}

// DefaultConfig is a us-east-1 account with one /20 subnet (4,091 usable
// addresses) in each of three zones, no boot delay, and terminated
// instances visible for an hour.
func DefaultConfig() Config {
	return Config{
		Region:    "us-east-1",
		AccountID: "123456789012",
		VpcID:     "vpc-0f00d0000000000a1",
		Subnets: []Subnet{
			{ID: "subnet-0a0000000000000a1", AvailabilityZone: "us-east-1a", CIDR: "10.0.0.0/20"},
			{ID: "subnet-0b0000000000000b1", AvailabilityZone: "us-east-1b", CIDR: "10.0.16.0/20"},
			{ID: "subnet-0c0000000000000c1", AvailabilityZone: "us-east-1c", CIDR: "10.0.32.0/20"},
		},
		AutoScalingAccessKeyID: DefaultAutoScalingAccessKeyID,
		TerminatedTTL:          time.Hour,
		Clock:                  clockwork.NewRealClock(),
		Logger:                 hclog.NewNullLogger(),
	}
}
