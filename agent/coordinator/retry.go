package coordinator

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/jonboulle/clockwork"

	"github.com/farmhand/farmhand/bootstrap"
)

// Throttling backoff: capped exponential with full jitter, on top of the
// SDK's own retryer, so a throttled leader backs off instead of failing the
// tick. Every call retried here is idempotent (RunInstances carries its
// ClientToken).
const retryAttempts = 8

var (
	retryBackoff = bootstrap.BackoffConfig{Base: 200 * time.Millisecond, Max: retryCap}
	retryCap     = 10 * time.Second
)

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
		case <-clock.After(retryBackoff.Delay(n)):
		}
	}
	return err
}

// EC2Retryer is the SDK's standard retryer (throttling and 5xx errors,
// three attempts, jittered backoff) except that it never retries
// InsufficientInstanceCapacity. EC2 sends that as HTTP 500, so the standard
// retryer would try the same full zone three times before the coordinator
// could move to the group's next subnet.
func EC2Retryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		noCapacity := retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
			if isInsufficientCapacity(err) {
				return aws.FalseTernary
			}
			return aws.UnknownTernary
		})
		o.Retryables = append([]retry.IsErrorRetryable{noCapacity}, o.Retryables...)
	})
}
