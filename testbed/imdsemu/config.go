package imdsemu

import (
	"github.com/farmhand/farmhand/bootstrap"
	"github.com/hashicorp/go-hclog"
	"github.com/jonboulle/clockwork"
)

// Config configures a Server. Start from DefaultConfig and set Identity.
type Config struct {
	// Identity is the instance the emulator describes. InstanceID,
	// PrivateIP and AvailabilityZone are required; Region defaults to the
	// zone without its last letter.
	Identity bootstrap.Identity
	// AccountID appears in the identity document.
	AccountID string
	// Events, when set, is called on every request for the instance's
	// market and notices (spot interruption, rebalance recommendation,
	// Auto Scaling lifecycle state). Nil: an on-demand instance that never
	// gets a notice.
	Events func() Events
	// Clock times token expiry, the response delay and pendingTime.
	Clock clockwork.Clock
	// Logger receives a line per rejected request.
	Logger hclog.Logger
}

// DefaultConfig describes a t3.micro in us-east-1a; replace Identity.
func DefaultConfig() Config {
	return Config{
		Identity: bootstrap.Identity{
			InstanceID:       "i-0123456789abcdef0",
			PrivateIP:        "10.0.0.4",
			AvailabilityZone: "us-east-1a",
			Region:           "us-east-1",
			InstanceType:     "t3.micro",
			AMI:              "ami-0123456789abcdef0",
		},
		AccountID: "123456789012",
		Clock:     clockwork.NewRealClock(),
		Logger:    hclog.NewNullLogger(),
	}
}
