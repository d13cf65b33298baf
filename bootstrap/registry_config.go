package bootstrap

import (
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jonboulle/clockwork"
)

// BackoffConfig is the retry policy of every S3 call: capped exponential
// backoff with full jitter, sleep = rand[0, min(Max, Base*2^attempt)].
type BackoffConfig struct {
	// Base is the cap of the first retry's sleep.
	Base time.Duration
	// Max caps every sleep.
	Max time.Duration
	// MaxAttempts is the number of attempts per call, the first included.
	MaxAttempts int
}

// RegistryConfig configures the S3 rendezvous registry.
type RegistryConfig struct {
	// Bucket is the S3 bucket holding the registry. Required.
	Bucket string
	// Prefix is the key prefix, default "farmhand"; leading and trailing
	// slashes are ignored.
	Prefix string
	// Cluster is the cluster name; records live under
	// <prefix>/<cluster>/nodes/ and records of other clusters are skipped.
	// Required, without "/".
	Cluster string
	// SigningKey, when set, signs every registered record (HMAC-SHA256)
	// and records with a wrong signature are skipped.
	SigningKey []byte
	// VerifyKeys are further keys whose signatures are accepted (never
	// used to sign), for key rotation.
	VerifyKeys [][]byte
	// RequireSignature skips unsigned records too. Needs SigningKey.
	RequireSignature bool
	// MaxRecordSize is the largest object read as a record, default
	// 8 KiB; larger objects are skipped by their listed size, unread.
	MaxRecordSize int64
	// Backoff is the retry policy of every S3 call.
	Backoff BackoffConfig
	// Concurrency bounds parallel GETs, default 16.
	Concurrency int
	// Clock paces retries, default the real clock.
	Clock clockwork.Clock
	// Logger receives warnings about skipped objects, default a null logger.
	Logger hclog.Logger
}

// DefaultRegistryConfig returns the defaults; set Bucket and Cluster.
func DefaultRegistryConfig() RegistryConfig {
	return RegistryConfig{
		Prefix:        "farmhand",
		MaxRecordSize: 8 << 10,
		Backoff: BackoffConfig{
			Base:        200 * time.Millisecond,
			Max:         10 * time.Second,
			MaxAttempts: 6,
		},
		Concurrency: 16,
		Clock:       clockwork.NewRealClock(),
		Logger:      hclog.NewNullLogger(),
	}
}

// normalize fills zero fields from DefaultRegistryConfig and validates.
func (c RegistryConfig) normalize() (RegistryConfig, error) {
	d := DefaultRegistryConfig()
	c.Prefix = strings.Trim(c.Prefix, "/")
	if c.Prefix == "" {
		c.Prefix = d.Prefix
	}
	if c.MaxRecordSize == 0 {
		c.MaxRecordSize = d.MaxRecordSize
	}
	if c.Backoff.Base == 0 {
		c.Backoff.Base = d.Backoff.Base
	}
	if c.Backoff.Max == 0 {
		c.Backoff.Max = d.Backoff.Max
	}
	if c.Backoff.MaxAttempts == 0 {
		c.Backoff.MaxAttempts = d.Backoff.MaxAttempts
	}
	if c.Concurrency == 0 {
		c.Concurrency = d.Concurrency
	}
	if c.Clock == nil {
		c.Clock = d.Clock
	}
	if c.Logger == nil {
		c.Logger = d.Logger
	}

	switch {
	case c.Bucket == "":
		return c, fmt.Errorf("registry config: bucket is empty; set the registry bucket")
	case c.Cluster == "" || strings.Contains(c.Cluster, "/"):
		return c, fmt.Errorf("registry config: cluster %q must be non-empty and contain no \"/\"; set the cluster name", c.Cluster)
	case c.RequireSignature && len(c.SigningKey) == 0:
		return c, fmt.Errorf("registry config: require_signature is set without a signing key; set the signing key or drop require_signature")
	case c.MaxRecordSize < 0:
		return c, fmt.Errorf("registry config: max record size %d is negative", c.MaxRecordSize)
	case c.Backoff.Base < 0 || c.Backoff.Max < c.Backoff.Base:
		return c, fmt.Errorf("registry config: backoff base %s and max %s must satisfy 0 <= base <= max", c.Backoff.Base, c.Backoff.Max)
	case c.Backoff.MaxAttempts < 1:
		return c, fmt.Errorf("registry config: backoff max attempts %d must be at least 1", c.Backoff.MaxAttempts)
	case c.Concurrency < 1:
		return c, fmt.Errorf("registry config: concurrency %d must be at least 1", c.Concurrency)
	}
	return c, nil
}
