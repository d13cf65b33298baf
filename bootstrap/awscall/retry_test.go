package awscall

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

func TestBackoffDelayIsCappedExponentialFullJitter(t *testing.T) {
	b := Backoff{Base: 100 * time.Millisecond, Max: time.Second}
	top := func(n int64) int64 { return n - 1 }
	bottom := func(n int64) int64 { return 0 }
	for attempt, want := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		want *= time.Millisecond
		if got := b.delay(attempt, top); got != want {
			t.Errorf("delay(%d) upper bound = %s, want %s", attempt, got, want)
		}
		if got := b.delay(attempt, bottom); got != 0 {
			t.Errorf("delay(%d) lower bound = %s, want 0", attempt, got)
		}
	}
	if got := b.delay(500, top); got != time.Second {
		t.Errorf("delay(500) = %s, want the cap (no overflow)", got)
	}
	// The real jitter stays inside the bounds.
	for range 1000 {
		if d := b.Delay(2); d < 0 || d > 400*time.Millisecond {
			t.Fatalf("jittered delay %s outside [0, 400ms]", d)
		}
	}
}

// doAsync runs p.Do in a goroutine with a fake clock and advances the clock
// whenever Do waits on it, until Do returns.
func doAsync(t *testing.T, p Policy, ctx context.Context, call func(context.Context) error) (attempts int, waits []time.Duration, err error) {
	t.Helper()
	clock := clockwork.NewFakeClock()
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := p.Do(ctx, clock, call, func(_ int, wait time.Duration, _ error) { waits = append(waits, wait) })
		done <- result{n, err}
	}()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case r := <-done:
			return r.n, waits, r.err
		case <-deadline:
			t.Fatal("Do did not return")
		default:
		}
		wctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		if clock.BlockUntilContext(wctx, 1) == nil {
			clock.Advance(p.Max)
		}
		cancel()
	}
}

func TestPolicyDo(t *testing.T) {
	slow := apiError(http.StatusServiceUnavailable, "SlowDown")
	denied := apiError(http.StatusForbidden, "AccessDenied")
	p := Policy{Backoff: Backoff{Base: 100 * time.Millisecond, Max: time.Second}, MaxAttempts: 4}

	t.Run("retries what may pass, then succeeds", func(t *testing.T) {
		n := 0
		attempts, waits, err := doAsync(t, p, context.Background(), func(context.Context) error {
			if n++; n < 3 {
				return slow
			}
			return nil
		})
		if err != nil || attempts != 3 || len(waits) != 2 {
			t.Fatalf("attempts %d, waits %v, err %v; want 3, 2 waits, nil", attempts, waits, err)
		}
	})
	t.Run("gives up after MaxAttempts with the last error", func(t *testing.T) {
		attempts, waits, err := doAsync(t, p, context.Background(), func(context.Context) error { return slow })
		if !errors.Is(err, slow) || attempts != 4 || len(waits) != 3 {
			t.Fatalf("attempts %d, waits %v, err %v; want 4, 3 waits, SlowDown", attempts, waits, err)
		}
	})
	t.Run("a permanent error is not retried", func(t *testing.T) {
		attempts, _, err := doAsync(t, p, context.Background(), func(context.Context) error { return denied })
		if !errors.Is(err, denied) || attempts != 1 {
			t.Fatalf("attempts %d, err %v; want 1, AccessDenied", attempts, err)
		}
	})
	t.Run("RetryIf narrows what is retried", func(t *testing.T) {
		q := p
		q.RetryIf = func(err error) bool { return Is(err, Throttled) }
		attempts, _, err := doAsync(t, q, context.Background(), func(context.Context) error { return apiError(500, "InternalError") })
		if err == nil || attempts != 1 {
			t.Fatalf("attempts %d, err %v; want 1 (a server error is not throttling)", attempts, err)
		}
	})
	t.Run("ctx ending during a wait ends Do", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		clock := clockwork.NewFakeClock()
		done := make(chan error, 1)
		go func() {
			_, err := p.Do(ctx, clock, func(context.Context) error { return slow }, nil)
			done <- err
		}()
		wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer wcancel()
		if err := clock.BlockUntilContext(wctx, 1); err != nil {
			t.Fatalf("Do never waited: %v", err)
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("Do after cancel = %v, want context.Canceled", err)
		}
	})
}
