package coordinator

import (
	"context"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/farmhand/farmhand/bootstrap/awscall"
)

// Throttling backoff: capped exponential with full jitter, on top of the
// SDK's own retryer, so a throttled leader backs off instead of failing the
// tick. Every call retried here is idempotent (RunInstances carries its
// ClientToken).
var throttleRetry = awscall.Policy{
	Backoff:     awscall.Backoff{Base: 200 * time.Millisecond, Max: 10 * time.Second},
	MaxAttempts: 8,
	RetryIf:     func(err error) bool { return awscall.Is(err, awscall.Throttled) },
}

// withThrottleRetry calls f until it succeeds, fails with something other
// than throttling, the attempts run out or ctx ends; waits use clock.
func withThrottleRetry(ctx context.Context, clock clockwork.Clock, f func(ctx context.Context) error) error {
	_, err := throttleRetry.Do(ctx, clock, f, nil)
	return err
}
