package bootstrap

import "time"

const (
	// DefaultIMDSEndpoint is the EC2 instance metadata service address.
	DefaultIMDSEndpoint = "http://169.254.169.254"
	// DefaultIdentityTimeout bounds the whole identity read, retries
	// included. IMDS answers in milliseconds, but an instance booting
	// under load (a burst of services, a burstable type out of credits)
	// can take seconds to be scheduled; the agent cannot start without
	// its identity, so it keeps asking for this long before giving up to
	// systemd's restart.
	DefaultIdentityTimeout = 10 * time.Second
)

// IdentityConfig says where LoadIdentity reads the instance identity from
// and which fields the configuration already fixes.
type IdentityConfig struct {
	// Endpoint is the IMDS base URL, default DefaultIMDSEndpoint. The agent
	// config fills it from FARMHAND_IMDS_ENDPOINT (the testbed's emulator).
	Endpoint string
	// Timeout bounds the whole read including retries, default
	// DefaultIdentityTimeout.
	Timeout time.Duration
	// Override holds identity fields set in the config; every non-empty
	// field wins over IMDS and its IMDS read is skipped. When every field is
	// set, IMDS is not contacted at all.
	Override Identity
}

// DefaultIdentityConfig returns the config for a real EC2 instance.
func DefaultIdentityConfig() IdentityConfig {
	return IdentityConfig{Endpoint: DefaultIMDSEndpoint, Timeout: DefaultIdentityTimeout}
}

// withDefaults fills the zero fields of c from DefaultIdentityConfig.
func (c IdentityConfig) withDefaults() IdentityConfig {
	d := DefaultIdentityConfig()
	if c.Endpoint == "" {
		c.Endpoint = d.Endpoint
	}
	if c.Timeout <= 0 {
		c.Timeout = d.Timeout
	}
	return c
}
