package bootstrap

import (
	"maps"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/farmhand/farmhand/bootstrap/awscall"
)

// SkipReason says why a registry object was not used as a record.
type SkipReason string

// The reasons an object is skipped.
const (
	// SkipMalformed: not JSON, not a record, or invalid fields (name not
	// matching the key, bad address or port, nested key).
	SkipMalformed SkipReason = "malformed"
	// SkipForeignCluster: a record of another cluster.
	SkipForeignCluster SkipReason = "foreign-cluster"
	// SkipBadVersion: a record schema version this agent does not read.
	SkipBadVersion SkipReason = "bad-version"
	// SkipOversize: larger than MaxRecordSize.
	SkipOversize SkipReason = "oversize"
	// SkipBadSignature: signed, but not by a configured key.
	SkipBadSignature SkipReason = "bad-signature"
	// SkipUnsigned: unsigned while RequireSignature is set.
	SkipUnsigned SkipReason = "unsigned"
)

// maxWarnedKeys bounds the memory spent remembering warned keys; past it,
// skipped objects are still counted but no longer logged.
const maxWarnedKeys = 10000

// RegistryStats counts S3 requests by kind (every attempt, retries and
// failures included) and skipped objects by reason (every time one is
// skipped; the warning is logged once per key).
type RegistryStats struct {
	// Put counts PutObject attempts.
	Put int64
	// List counts ListObjectsV2 attempts (one per page).
	List int64
	// Get counts GetObject attempts.
	Get int64
	// Delete counts DeleteObject attempts.
	Delete int64
	// Skipped counts skipped objects by reason.
	Skipped map[SkipReason]int64
	// Errors counts failed S3 attempts (retries included) by request kind
	// and awscall class.
	Errors map[RequestError]int64
}

// RequestError is a kind of failed S3 attempt: the request kind (put,
// list, get, delete) and the awscall class of its error (throttled,
// access-denied, ...).
type RequestError struct {
	Kind  string
	Class string
}

// Requests is the total number of S3 requests.
func (s RegistryStats) Requests() int64 {
	return s.Put + s.List + s.Get + s.Delete
}

// registryCounters is the mutable state behind RegistryStats.
type registryCounters struct {
	put, list, get, del atomic.Int64

	mu      sync.Mutex
	skipped map[SkipReason]int64
	warned  map[string]struct{}
	errors  map[RequestError]int64
}

// failed counts a failed attempt of op with err.
func (c *registryCounters) failed(op s3Op, err error) {
	k := RequestError{Kind: op.kind(), Class: strings.ReplaceAll(awscall.Classify(err).String(), " ", "_")}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.errors == nil {
		c.errors = map[RequestError]int64{}
	}
	c.errors[k]++
}

// counter returns the request counter of an S3 operation.
func (c *registryCounters) counter(op s3Op) *atomic.Int64 {
	switch op {
	case opPut:
		return &c.put
	case opList:
		return &c.list
	case opGet:
		return &c.get
	default:
		return &c.del
	}
}

// Stats returns a snapshot of the request and skip counters.
func (r *Registry) Stats() RegistryStats {
	c := &r.counters
	c.mu.Lock()
	defer c.mu.Unlock()
	return RegistryStats{
		Put:     c.put.Load(),
		List:    c.list.Load(),
		Get:     c.get.Load(),
		Delete:  c.del.Load(),
		Skipped: maps.Clone(c.skipped),
		Errors:  maps.Clone(c.errors),
	}
}

// skip counts a skipped object and warns about it the first time its key
// is skipped.
func (r *Registry) skip(key string, reason SkipReason, detail string) {
	c := &r.counters
	c.mu.Lock()
	c.skipped[reason]++
	_, seen := c.warned[key]
	warn := !seen && len(c.warned) < maxWarnedKeys
	if warn {
		c.warned[key] = struct{}{}
		if len(c.warned) == maxWarnedKeys {
			defer r.logger.Warn("too many unusable registry objects; further ones are counted but not logged",
				"bucket", r.cfg.Bucket, "prefix", r.nodesPrefix(), "limit", maxWarnedKeys)
		}
	}
	c.mu.Unlock()
	if warn {
		r.logger.Warn("skipping unusable registry object", "bucket", r.cfg.Bucket, "key", key,
			"reason", string(reason), "detail", detail)
	}
}
