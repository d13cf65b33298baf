package bootstrap

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/farmhand/farmhand/bootstrap/awscall"
)

// failN makes the first n requests of op fail with err.
func failN(op string, n int64, err error) func(string, string) error {
	var seen atomic.Int64
	return func(o, _ string) error {
		if o == op && seen.Add(1) <= n {
			return err
		}
		return nil
	}
}

// advanceUntilDone advances clock by step each time something waits on it
// until done is closed.
func advanceUntilDone(t *testing.T, clock *clockwork.FakeClock, step time.Duration, done <-chan error) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		select {
		case err := <-done:
			return err
		case <-ctx.Done():
			t.Fatal("operation did not finish")
		default:
		}
		waitCtx, waitCancel := context.WithTimeout(ctx, 20*time.Millisecond)
		if clock.BlockUntilContext(waitCtx, 1) == nil {
			clock.Advance(step)
		}
		waitCancel()
	}
}

func TestRetryTransientErrorsThroughClock(t *testing.T) {
	f := newFakeS3(testBucket)
	f.fail = failN("PutObject", 2, apiError(http.StatusServiceUnavailable, "SlowDown"))
	clock := clockwork.NewFakeClock()
	r := newTestRegistry(t, f, func(c *RegistryConfig) { c.Clock = clock })

	done := make(chan error, 1)
	go func() { done <- r.Register(context.Background(), testRecord(1, "")) }()
	if err := advanceUntilDone(t, clock, r.cfg.Retry.Max, done); err != nil {
		t.Fatalf("Register after two 503s: %v", err)
	}
	if st := r.Stats(); st.Put != 3 {
		t.Fatalf("Put = %d, want 3 attempts counted", st.Put)
	}
	if st := r.Stats(); st.Errors[RequestError{Kind: "put", Class: "throttled"}] != 2 || len(st.Errors) != 1 {
		t.Fatalf("Errors = %v, want the 2 throttled puts", st.Errors)
	}
	if _, ok := f.body(r.Key(testRecord(1, ""))); !ok {
		t.Fatal("record not stored")
	}
}

func TestRetryGivesUpAfterMaxAttempts(t *testing.T) {
	f := newFakeS3(testBucket)
	f.fail = failN("ListObjectsV2", 1<<30, errors.New("dial tcp 127.0.0.1:9: connection refused"))
	clock := clockwork.NewFakeClock()
	r := newTestRegistry(t, f, func(c *RegistryConfig) { c.Clock = clock; c.Retry.MaxAttempts = 4 })

	done := make(chan error, 1)
	go func() { _, err := r.List(context.Background()); done <- err }()
	err := advanceUntilDone(t, clock, r.cfg.Retry.Max, done)
	if err == nil {
		t.Fatal("List succeeded against a dead S3")
	}
	for _, want := range []string{"ListObjectsV2", "s3://" + testBucket + "/farmhand/blue/nodes/", "4 times", "connection refused", "reachable"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if st := r.Stats(); st.List != 4 || st.Errors[RequestError{Kind: "list", Class: "unreachable"}] != 4 {
		t.Fatalf("List attempts = %d, errors %v; want 4, all unreachable", st.List, st.Errors)
	}
	if !awscall.Retryable(err) {
		t.Errorf("Retryable(%v) = false for an unreachable S3", err)
	}
}

func TestNonRetryableErrorsFailFast(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want []string
	}{
		{"access denied", apiError(http.StatusForbidden, "AccessDenied"), []string{"IAM policy", "s3:PutObject", "arn:aws:s3:::" + testBucket + "/farmhand/blue/*"}},
		{"no bucket", apiError(http.StatusNotFound, "NoSuchBucket"), []string{"does not exist", `"` + testBucket + `"`}},
		{"bad credentials", apiError(http.StatusForbidden, "InvalidAccessKeyId"), []string{"credentials"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeS3(testBucket)
			f.fail = failN("PutObject", 1<<30, tc.err)
			r := newTestRegistry(t, f, func(c *RegistryConfig) { c.Clock = clockwork.NewFakeClock() })
			err := r.Register(context.Background(), testRecord(1, ""))
			if err == nil {
				t.Fatal("Register succeeded")
			}
			for _, w := range append(tc.want, "s3://"+testBucket+"/"+r.Key(testRecord(1, ""))) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if st := r.Stats(); st.Put != 1 {
				t.Fatalf("Put attempts = %d, want 1 (no retry)", st.Put)
			}
			for k := range r.Stats().Errors {
				if k.Kind != "put" || strings.Contains(k.Class, " ") || k.Class == "unknown" {
					t.Errorf("error counted as %+v, want a put with a class name usable as a label", k)
				}
			}
			if awscall.Retryable(err) {
				t.Errorf("Retryable(%v) = true", err)
			}
		})
	}
}

func TestRetryStopsWhenContextEnds(t *testing.T) {
	f := newFakeS3(testBucket)
	f.fail = failN("GetObject", 1<<30, apiError(http.StatusInternalServerError, "InternalError"))
	clock := clockwork.NewFakeClock()
	r := newTestRegistry(t, f, func(c *RegistryConfig) { c.Clock = clock })
	f.putRaw(r.Key(testRecord(1, "")), []byte("{}"))

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := r.List(ctx); done <- err }()
	waitCtx, waitCancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer waitCancel()
	if err := clock.BlockUntilContext(waitCtx, 1); err != nil {
		t.Fatalf("List never slept before a retry: %v", err)
	}
	cancel() // while the GET sleeps before its first retry
	err := <-done
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("List after cancel = %v, want context.Canceled", err)
	}
	if st := r.Stats(); st.Get != 1 {
		t.Fatalf("Get attempts = %d, want 1", st.Get)
	}
}
