package awscall

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/jonboulle/clockwork"
)

// Backoff is capped exponential backoff with full jitter: the wait before
// retry number attempt (0 for the first) is uniform over
// [0, min(Max, Base*2^attempt)], so a fleet that fails together does not
// retry in lockstep.
type Backoff struct {
	// Base is the cap of the first retry's wait.
	Base time.Duration
	// Max caps every wait.
	Max time.Duration
}

// Delay is the wait before retry number attempt.
func (b Backoff) Delay(attempt int) time.Duration { return b.delay(attempt, rand.Int64N) }

// delay is Delay with the random source given: jitter(n) returns a value
// in [0, n).
func (b Backoff) delay(attempt int, jitter func(n int64) int64) time.Duration {
	ceil := b.Base
	for i := 0; i < attempt && ceil < b.Max; i++ {
		ceil *= 2
	}
	ceil = min(ceil, b.Max)
	if ceil <= 0 {
		return 0
	}
	return time.Duration(jitter(int64(ceil) + 1))
}

// Policy is how a failed AWS call is retried: which errors, how many
// attempts, and how long to wait between them.
type Policy struct {
	Backoff
	// MaxAttempts is the number of attempts per call, the first included;
	// less than 1 means 1.
	MaxAttempts int
	// RetryIf says which errors are worth another attempt; nil means
	// Retryable (no answer, throttled, server error).
	RetryIf func(error) bool
}

// Do calls call until it succeeds, fails with an error RetryIf rejects, has
// been made MaxAttempts times, or ctx ends, waiting Backoff.Delay on clock
// between attempts. onRetry, when not nil, hears of each wait before it
// starts. Do returns the number of attempts made and the last error (or
// ctx.Err() when ctx ended during a wait).
func (p Policy) Do(ctx context.Context, clock clockwork.Clock, call func(context.Context) error,
	onRetry func(attempt int, wait time.Duration, err error)) (attempts int, err error) {
	retryIf := p.RetryIf
	if retryIf == nil {
		retryIf = Retryable
	}
	for {
		attempts++
		err = call(ctx)
		if err == nil || ctx.Err() != nil || !retryIf(err) || attempts >= p.MaxAttempts {
			return attempts, err
		}
		wait := p.Delay(attempts - 1)
		if onRetry != nil {
			onRetry(attempts, wait, err)
		}
		select {
		case <-ctx.Done():
			return attempts, ctx.Err()
		case <-clock.After(wait):
		}
	}
}
