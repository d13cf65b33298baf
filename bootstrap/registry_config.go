package bootstrap

import (
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jonboulle/clockwork"

	"github.com/farmhand/farmhand/bootstrap/awscall"
)

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
	// Retry is the retry policy of every S3 call (RetryIf is ignored: the
	// registry retries what awscall.Retryable says may pass).
	Retry awscall.Policy
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
		Retry: awscall.Policy{
			Backoff:     awscall.Backoff{Base: 200 * time.Millisecond, Max: 10 * time.Second},
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
	if c.Retry.Base == 0 {
		c.Retry.Base = d.Retry.Base
	}
	if c.Retry.Max == 0 {
		c.Retry.Max = d.Retry.Max
	}
	if c.Retry.MaxAttempts == 0 {
		c.Retry.MaxAttempts = d.Retry.MaxAttempts
	}
	c.Retry.RetryIf = nil
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
	case c.Retry.Base < 0 || c.Retry.Max < c.Retry.Base:
		return c, fmt.Errorf("registry config: retry backoff base %s and max %s must satisfy 0 <= base <= max", c.Retry.Base, c.Retry.Max)
	case c.Retry.MaxAttempts < 1:
		return c, fmt.Errorf("registry config: retry max attempts %d must be at least 1", c.Retry.MaxAttempts)
	case c.Concurrency < 1:
		return c, fmt.Errorf("registry config: concurrency %d must be at least 1", c.Concurrency)
	}
	return c, nil
}
