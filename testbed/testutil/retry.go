package testutil

import (
	"fmt"
	"testing"
	"time"
)

// R is passed to the function polled by Run; calling Errorf or Fatalf marks
// the attempt failed and Run tries again until its deadline.
type R struct {
	failed bool
	msg    string
}

// Errorf records a failure of this attempt.
func (r *R) Errorf(format string, args ...any) {
	r.failed = true
	r.msg = fmt.Sprintf(format, args...)
}

// Fatalf records a failure of this attempt and ends it.
func (r *R) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	panic(retryAbort{})
}

type retryAbort struct{}

// Run polls f every 20ms until an attempt passes or timeout elapses, then
// fails t with the last attempt's message. It never sleeps past the deadline.
func Run(t testing.TB, timeout time.Duration, f func(r *R)) {
	t.Helper()
	if err := Poll(timeout, 20*time.Millisecond, f); err != nil {
		t.Fatal(err)
	}
}

// Poll is Run without a testing.TB: it returns the last failure after
// timeout, or nil once an attempt passes.
func Poll(timeout, every time.Duration, f func(r *R)) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		r := &R{}
		func() {
			defer func() {
				if v := recover(); v != nil {
					if _, ok := v.(retryAbort); !ok {
						panic(v)
					}
				}
			}()
			f(r)
		}()
		if !r.failed {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("condition not met after %s: %s", timeout, r.msg)
		}
		<-tick.C
	}
}
