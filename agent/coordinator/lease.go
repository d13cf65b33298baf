package coordinator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
)

// leaseRecord is the JSON of the lease object <Prefix>lease.
type leaseRecord struct {
	// Holder is the leader's node name; "" means released.
	Holder string `json:"holder"`
	// Epoch increases by one at every change of leader.
	Epoch uint64 `json:"epoch"`
	// Expires is the holder's own clock plus LeaseTTL at its last renewal.
	Expires time.Time `json:"expires"`
}

// leaseEvent is what a lease step changed.
type leaseEvent int

const (
	leaseNone     leaseEvent = iota // nothing changed
	leaseAcquired                   // this node became leader
	leaseLost                       // this node stopped being leader
)

// LeaseInfo describes the lease as this node last saw it.
type LeaseInfo struct {
	// Leader is set while this node holds the lease.
	Leader bool `json:"leader"`
	// Holder is the lease holder as last seen ("" if released or unknown).
	Holder string `json:"holder"`
	// Epoch is the lease epoch as last seen.
	Epoch uint64 `json:"epoch"`
	// Expires is the lease expiry written by the holder.
	Expires time.Time `json:"expires,omitzero"`
	// ActUntil is when this leader stops acting unless it renews.
	ActUntil time.Time `json:"act_until,omitzero"`
}

// lease is leader election through one S3 object. It is created with
// If-None-Match "*", renewed and taken over with If-Match <etag>; a 412 (or
// a 404: the object is gone) is a lost race. Safety does not rest on
// synchronized clocks: a contender takes over only after it has itself
// observed the same ETag for a whole TTL (and the holder's "expires" has
// passed by the contender's clock), while the holder acts only until
// actUntil = renewedAt + TTL - margin, where renewedAt is taken before it
// sends the renewal. The write lands after renewedAt and the contender sees
// it after it lands, so the contender's earliest takeover comes at least
// margin after actUntil.
//
// The argument holds from actUntil itself, not from the last canAct check:
// every EC2 mutation runs under a context whose deadline is actUntil
// (Coordinator.actWindow), and the SDK's retryer, the only retry layer,
// waits and retries under that context. So no mutation request leaves
// after actUntil; one sent just before it has the margin to reach EC2, and
// whatever it did is covered by the batch's ClientToken, which the
// successor reissues.
type lease struct {
	store    ObjectStore
	bucket   string
	key      string
	self     string
	ttl      time.Duration
	margin   time.Duration
	interval time.Duration // the tick period
	clock    clockwork.Clock
	// firstEpoch returns the epoch to create a missing lease with (above
	// any epoch the ledger has seen).
	firstEpoch func(ctx context.Context) (uint64, error)

	mu        sync.Mutex
	rec       leaseRecord // last seen or written
	etag      string      // ETag of rec
	seenAt    time.Time   // local time etag was first observed
	leader    bool
	renewedAt time.Time // local time before the last successful write was sent
	// called is when the last step that called S3 began: steps call S3
	// at most once per interval, however often the coordinator ticks.
	called time.Time
	// renewals and renewFailures count renewal writes that succeeded and
	// that failed (for metrics).
	renewals, renewFailures uint64
}

// step acquires, takes over or renews the lease, as due. It calls S3 at
// most once per interval: a follower reads the lease at most that often,
// and a leader retries a failed renewal at most that often.
func (l *lease) step(ctx context.Context) (leaseEvent, error) {
	l.mu.Lock()
	leader, etag, renewedAt, rec, called := l.leader, l.etag, l.renewedAt, l.rec, l.called
	l.mu.Unlock()
	now := l.clock.Now()
	if leader && now.Sub(renewedAt) < l.renewAfter() {
		return leaseNone, nil
	}
	if !called.IsZero() && now.Sub(called) < l.interval {
		return leaseNone, nil
	}
	l.mu.Lock()
	l.called = now
	l.mu.Unlock()
	if leader {
		return l.renew(ctx, etag, renewedAt, rec)
	}
	return l.acquire(ctx)
}

// renewAfter is how long after a renewal the next is due: half the TTL,
// as DHCP renews, so a failed renewal leaves ticks to retry before the
// acting window (TTL - margin) closes; sooner when half the TTL would not
// leave two ticks of the window (one to renew, one to retry).
func (l *lease) renewAfter() time.Duration {
	return max(0, min(l.ttl/2, l.ttl-l.margin-2*l.interval))
}

func (l *lease) renew(ctx context.Context, etag string, renewedAt time.Time, rec leaseRecord) (leaseEvent, error) {
	sent := l.clock.Now()
	next := leaseRecord{Holder: l.self, Epoch: rec.Epoch, Expires: sent.Add(l.ttl)}
	newTag, err := l.put(ctx, next, etag)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err == nil {
		l.rec, l.etag, l.renewedAt, l.seenAt = next, newTag, sent, sent
		l.renewals++
		return leaseNone, nil
	}
	l.renewFailures++
	if errors.Is(err, errFenced) || !l.clock.Now().Before(renewedAt.Add(l.ttl)) {
		l.leader = false
		return leaseLost, fmt.Errorf("coordinator: lease renewal failed, leadership given up: %w", err)
	}
	return leaseNone, fmt.Errorf("coordinator: lease renewal failed, acting until %s: %w", renewedAt.Add(l.ttl-l.margin).Format(time.RFC3339), err)
}

func (l *lease) acquire(ctx context.Context) (leaseEvent, error) {
	body, etag, err := getObject(ctx, l.store, l.bucket, l.key)
	if err != nil {
		return leaseNone, err
	}
	now := l.clock.Now()
	if body == nil {
		epoch, err := l.firstEpoch(ctx)
		if err != nil {
			return leaseNone, err
		}
		return l.take(ctx, leaseRecord{Holder: l.self, Epoch: epoch, Expires: now.Add(l.ttl)}, "")
	}
	var rec leaseRecord
	if err := json.Unmarshal(body, &rec); err != nil {
		// An unreadable lease is treated as held by nobody known: it is taken
		// over only after it has not changed for a TTL.
		rec = leaseRecord{Holder: "?"}
	}
	l.mu.Lock()
	if etag != l.etag {
		l.rec, l.etag, l.seenAt = rec, etag, now
	}
	seenAt := l.seenAt
	l.mu.Unlock()
	released := rec.Holder == ""
	expired := now.Sub(seenAt) >= l.ttl && !now.Before(rec.Expires)
	if !released && !expired {
		return leaseNone, nil
	}
	return l.take(ctx, leaseRecord{Holder: l.self, Epoch: rec.Epoch + 1, Expires: now.Add(l.ttl)}, etag)
}

// take writes rec conditionally and, on success, becomes leader.
func (l *lease) take(ctx context.Context, rec leaseRecord, etag string) (leaseEvent, error) {
	sent := l.clock.Now()
	newTag, err := l.put(ctx, rec, etag)
	if errors.Is(err, errFenced) {
		return leaseNone, nil // someone else was faster
	}
	if err != nil {
		return leaseNone, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rec, l.etag, l.seenAt, l.renewedAt, l.leader = rec, newTag, sent, sent, true
	return leaseAcquired, nil
}

func (l *lease) put(ctx context.Context, rec leaseRecord, etag string) (string, error) {
	body, err := json.Marshal(rec)
	if err != nil {
		return "", fmt.Errorf("coordinator: encode lease: %w", err)
	}
	return putConditional(ctx, l.store, l.bucket, l.key, body, etag)
}

// canAct reports whether this node may act now: it holds the lease and is
// inside renewedAt + TTL - margin.
func (l *lease) canAct() bool {
	until, ok := l.actUntil()
	return ok && l.clock.Now().Before(until)
}

// actUntil is the end of this leader's acting window, renewedAt + TTL -
// margin; ok is false when this node does not hold the lease. Every EC2
// mutation runs under a context with this deadline.
func (l *lease) actUntil() (until time.Time, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.renewedAt.Add(l.ttl - l.margin), l.leader
}

// release gives the lease up (holder "") so a contender need not wait a
// TTL. The caller has stopped acting. It reports whether it was leader.
func (l *lease) release(ctx context.Context) (bool, error) {
	l.mu.Lock()
	leader, etag, rec := l.leader, l.etag, l.rec
	l.leader = false
	l.mu.Unlock()
	if !leader {
		return false, nil
	}
	rec.Holder, rec.Expires = "", l.clock.Now()
	newTag, err := l.put(ctx, rec, etag)
	if err != nil {
		return true, err
	}
	l.mu.Lock()
	l.rec, l.etag = rec, newTag
	l.mu.Unlock()
	return true, nil
}

// info describes the lease.
// renewCounts returns the renewals that succeeded and that failed.
func (l *lease) renewCounts() (ok, failed uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.renewals, l.renewFailures
}

func (l *lease) info() LeaseInfo {
	l.mu.Lock()
	defer l.mu.Unlock()
	i := LeaseInfo{Leader: l.leader, Holder: l.rec.Holder, Epoch: l.rec.Epoch, Expires: l.rec.Expires}
	if l.leader {
		i.ActUntil = l.renewedAt.Add(l.ttl - l.margin)
	}
	return i
}

// epoch is the epoch this node leads in, or 0.
func (l *lease) epoch() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.leader {
		return 0
	}
	return l.rec.Epoch
}
