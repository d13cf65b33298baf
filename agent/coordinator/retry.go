package coordinator

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/jonboulle/clockwork"
)

// Throttling backoff: capped exponential with full jitter, on top of the
// SDK's own retryer, so a throttled leader backs off instead of failing the
// tick. Every call retried here is idempotent (RunInstances carries its
// ClientToken).
const (
	retryAttempts = 8
	retryBase     = 200 * time.Millisecond
	retryCap      = 10 * time.Second
)

// backoff is the wait before retry n (0-based): uniform in
// [1ms, min(cap, base*2^n)].
func backoff(n int) time.Duration {
	ceil := min(retryCap, retryBase<<min(n, 16))
	return time.Millisecond + rand.N(ceil)
}

// withThrottleRetry calls f until it succeeds, fails with something other
// than throttling, the attempts run out or ctx ends; waits use clock.
func withThrottleRetry(ctx context.Context, clock clockwork.Clock, f func(ctx context.Context) error) error {
	var err error
	for n := 0; n < retryAttempts; n++ {
		if err = f(ctx); err == nil || !isThrottle(err) {
			return err
		}
		if n == retryAttempts-1 {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-clock.After(backoff(n)):
		}
	}
	return err
}
