package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/aws/smithy-go"
)

// s3Op is one kind of S3 request the registry makes.
type s3Op int

const (
	opPut s3Op = iota
	opList
	opGet
	opDelete
)

// String is the S3 API operation name.
func (o s3Op) String() string {
	return [...]string{"PutObject", "ListObjectsV2", "GetObject", "DeleteObject"}[o]
}

// permission is the IAM action the operation needs.
func (o s3Op) permission() string {
	return [...]string{"s3:PutObject", "s3:ListBucket", "s3:GetObject", "s3:DeleteObject"}[o]
}

// Delay is capped exponential backoff with full jitter: the wait before
// retry number attempt (0 for the first), uniform over
// [0, min(Max, Base*2^attempt)]. A fleet that fails together does not
// retry in lockstep. The registry, the agent's boot loop and the
// coordinator's throttling retries all pace themselves with it.
func (b BackoffConfig) Delay(attempt int) time.Duration { return b.delay(attempt, rand.Int64N) }

// delay is Delay with the random source given: jitter(n) returns a value
// in [0, n).
func (b BackoffConfig) delay(attempt int, jitter func(n int64) int64) time.Duration {
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

// call runs fn, counting every attempt as one request of kind op, and
// retries it with backoff until it succeeds, fails permanently, runs out
// of attempts or ctx ends. key names the object (or prefix) in errors.
func (r *Registry) call(ctx context.Context, op s3Op, key string, fn func(ctx context.Context) error) error {
	counter := r.counters.counter(op)
	var err error
	for attempt := 0; ; attempt++ {
		if ctx.Err() != nil {
			return r.s3Error(op, key, ctx.Err())
		}
		counter.Add(1)
		err = fn(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return r.s3Error(op, key, ctx.Err())
		}
		if !retryable(err) {
			return r.s3Error(op, key, err)
		}
		if attempt+1 >= r.cfg.Backoff.MaxAttempts {
			break
		}
		d := r.cfg.Backoff.delay(attempt, r.jitter)
		r.logger.Debug("retrying S3 request", "op", op.String(), "key", key, "attempt", attempt+1, "sleep", d, "error", err)
		select {
		case <-r.clock.After(d):
		case <-ctx.Done():
			return r.s3Error(op, key, ctx.Err())
		}
	}
	return fmt.Errorf("registry: S3 %s s3://%s/%s failed %d times: %w; check that S3 is reachable (endpoint, network, VPC endpoint) and healthy",
		op, r.cfg.Bucket, key, r.cfg.Backoff.MaxAttempts, err)
}

// s3Error wraps a final error with the object and advice on what to do.
func (r *Registry) s3Error(op s3Op, key string, err error) error {
	obj := fmt.Sprintf("s3://%s/%s", r.cfg.Bucket, key)
	var advice string
	switch code, status := errorCode(err), httpStatus(err); {
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("registry: S3 %s %s: %w", op, obj, err)
	case code == "NoSuchBucket":
		advice = fmt.Sprintf("bucket %q does not exist; check the registry bucket name and region", r.cfg.Bucket)
	case code == "AccessDenied" || code == "AllAccessDisabled" || status == http.StatusForbidden && code == "":
		advice = fmt.Sprintf("access denied; check that the IAM policy allows %s on arn:aws:s3:::%s/%s*", op.permission(), r.cfg.Bucket, r.ClusterPrefix())
	case code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch" || code == "ExpiredToken" || code == "InvalidToken":
		advice = "credentials rejected; check the AWS credentials (instance role, AWS_ACCESS_KEY_ID, shared config)"
	case code == "PermanentRedirect" || code == "AuthorizationHeaderMalformed" || status == http.StatusMovedPermanently:
		advice = fmt.Sprintf("bucket %q is in another region; set the registry region", r.cfg.Bucket)
	case isPreconditionFailed(err) || isNotFound(err):
		return fmt.Errorf("registry: S3 %s %s: %w", op, obj, err)
	default:
		advice = "request rejected"
	}
	return fmt.Errorf("registry: S3 %s %s: %s: %w", op, obj, advice, err)
}

// Retryable reports whether an error returned by a Registry call may go
// away if the call is made again later: S3 throttled it, failed with a
// server error, timed out or did not answer. Access, credential, bucket and
// request errors are not retryable. A caller that runs its own retry loop
// can use it to stop a round early while S3 is unavailable.
func Retryable(err error) bool {
	return err != nil && !errors.Is(err, context.Canceled) && retryable(err)
}

// retryable reports whether an S3 error may go away on retry: transport
// errors, timeouts, throttling and server errors.
func retryable(err error) bool {
	switch errorCode(err) {
	case "SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable", "Throttling", "ThrottlingException", "RequestLimitExceeded":
		return true
	}
	status := httpStatus(err)
	switch {
	case status == 0:
		return true // no response: connection refused, reset, timeout
	case status == http.StatusRequestTimeout || status == http.StatusTooManyRequests:
		return true
	case status >= 500 && status != http.StatusNotImplemented:
		return true
	}
	return false
}

// errorCode is the S3 error code of err, or "".
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// isPreconditionFailed reports a failed If-None-Match / If-Match.
func isPreconditionFailed(err error) bool {
	return errorCode(err) == "PreconditionFailed" || httpStatus(err) == http.StatusPreconditionFailed
}

// isNotFound reports a missing object.
func isNotFound(err error) bool {
	c := errorCode(err)
	return c == "NoSuchKey" || c == "NotFound" || httpStatus(err) == http.StatusNotFound && c != "NoSuchBucket"
}

// isNotImplemented reports a server that does not support a request
// feature, such as conditional writes.
func isNotImplemented(err error) bool {
	return errorCode(err) == "NotImplemented" || httpStatus(err) == http.StatusNotImplemented
}
