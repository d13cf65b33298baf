package ec2emu

import (
	"crypto/rand"
	"encoding/hex"
	"regexp"
	"sync"
	"time"
)

// State is an instance state name as EC2 reports it.
type State string

// The instance states of EC2, with the codes of stateCode.
const (
	StatePending      State = "pending"
	StateRunning      State = "running"
	StateShuttingDown State = "shutting-down"
	StateTerminated   State = "terminated"
	StateStopping     State = "stopping"
	StateStopped      State = "stopped"
)

// Code is the numeric state code EC2 reports next to the name (the low byte
// of instanceState/code), or -1 for an unknown state.
func (s State) Code() int {
	switch s {
	case StatePending:
		return 0
	case StateRunning:
		return 16
	case StateShuttingDown:
		return 32
	case StateTerminated:
		return 48
	case StateStopping:
		return 64
	case StateStopped:
		return 80
	}
	return -1
}

// Instance is a snapshot of one emulated instance.
type Instance struct {
	// ID is e.g. "i-0123456789abcdef0".
	ID string
	// ReservationID is the "r-..." id of the RunInstances call.
	ReservationID string
	// ImageID is the AMI.
	ImageID string
	// InstanceType is e.g. "t3.micro".
	InstanceType string
	// SubnetID is the subnet the instance is in.
	SubnetID string
	// VpcID is the VPC of the subnet.
	VpcID string
	// AvailabilityZone is the zone of the subnet.
	AvailabilityZone string
	// PrivateIP is the address from the subnet's pool: the instance has it
	// until it is terminated, keeps it while stopped, and a terminated
	// instance keeps it here only as a record (the address is back in the
	// pool, EC2 no longer reports it, and another instance may have it).
	PrivateIP string
	// PrivateDNSName is "ip-a-b-c-d.<region domain>".
	PrivateDNSName string
	// SecurityGroupIDs are the groups of the request or the template.
	SecurityGroupIDs []string
	// KeyName is the key pair name, if any.
	KeyName string
	// IamInstanceProfileArn is the profile's ARN (built from the name when
	// the request gave a name).
	IamInstanceProfileArn string
	// LaunchTemplateID is the template used, if any.
	LaunchTemplateID string
	// UserData is the decoded user data.
	UserData []byte
	// ClientToken is the idempotency token of the RunInstances call.
	ClientToken string
	// Tags are the instance's tags.
	Tags map[string]string
	// State is the current state.
	State State
	// StateReason is "Code: Message" of EC2's StateReason, set when the
	// instance left running (e.g. "Client.UserInitiatedShutdown: User
	// initiated shutdown") and cleared when it is started again.
	StateReason string
	// StateTransitionReason is EC2's free-form reason of the latest state
	// change, e.g. "User initiated (2026-01-05 10:00:00 GMT)"; empty while
	// the instance runs.
	StateTransitionReason string
	// Impaired makes DescribeInstanceStatus report it impaired.
	Impaired bool
	// InstanceLifecycle is "spot" for a Spot Instance, "" on demand.
	InstanceLifecycle string
	// SpotInstanceRequestID is the "sir-..." request of a Spot Instance.
	SpotInstanceRequestID string
	// SpotInstanceType is "one-time" or "persistent" for a Spot Instance.
	SpotInstanceType string
	// InterruptionBehavior is what an interruption does to a Spot Instance:
	// "terminate", "stop" or "hibernate".
	InterruptionBehavior string
	// SpotAction is the interruption EC2 has scheduled (see Interrupt):
	// "terminate", "stop" or "hibernate"; "" when none. SpotActionTime is
	// when it falls due. Both clear when the instance starts again.
	SpotAction     string
	SpotActionTime time.Time
	// RebalanceTime is when EC2 recommended rebalancing (see Rebalance);
	// zero when it has not.
	RebalanceTime time.Time
	// TargetLifecycleState is Auto Scaling's target lifecycle state of an
	// instance of a group (tagged aws:autoscaling:groupName): "InService",
	// then "Terminated" (see AutoScalingTerminate); "" outside a group.
	TargetLifecycleState string
	// BootDelay is how long the latest boot (launch or start) stays
	// pending, drawn from Config.BootDelay.
	BootDelay time.Duration
	// LaunchIndex is the position within its reservation.
	LaunchIndex int
	// LaunchTime is when RunInstances created it, or when StartInstances
	// last started it (EC2 resets it on every start).
	LaunchTime time.Time
	// TerminatedAt is when it reached terminated (zero before).
	TerminatedAt time.Time
}

// instance is the emulator's record of one instance. Fields other than
// hookMu are guarded by Server.mu.
type instance struct {
	Instance
	// seq orders instances by creation, for listing and pagination.
	seq uint64
	// launched is true from a successful OnLaunch or OnStart until OnStop
	// or OnTerminate has been called.
	launched bool
	// booted is true once the instance has reached running.
	booted bool
	// holdsIP is true while PrivateIP belongs to the instance in its
	// subnet's pool: from RunInstances until terminated.
	holdsIP bool
	// settled is closed when the latest boot, stop, reboot or termination
	// has finished.
	settled chan struct{}
	// hookMu serializes the hooks of this instance.
	hookMu sync.Mutex
}

// snapshotLocked copies the instance so callers cannot alias its slices
// and maps.
func (in *instance) snapshotLocked() Instance {
	s := in.Instance
	s.SecurityGroupIDs = append([]string(nil), in.SecurityGroupIDs...)
	s.UserData = append([]byte(nil), in.UserData...)
	s.Tags = make(map[string]string, len(in.Tags))
	for k, v := range in.Tags {
		s.Tags[k] = v
	}
	return s
}

var instanceIDPattern = regexp.MustCompile(`^i-([0-9a-f]{8}|[0-9a-f]{17})$`)

// validInstanceID reports whether id has the shape of an instance id.
func validInstanceID(id string) bool { return instanceIDPattern.MatchString(id) }

// newID returns prefix + 17 random hex digits, the shape of current EC2 ids.
func newID(prefix string) string {
	var b [9]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("ec2emu: crypto/rand failed: " + err.Error())
	}
	return prefix + hex.EncodeToString(b[:])[:17]
}

// newRequestID returns a random UUID-shaped request id.
func newRequestID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("ec2emu: crypto/rand failed: " + err.Error())
	}
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
