package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/farmhand/farmhand/bootstrap/awscall"
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

// kind is the short name of the request kind in stats and metrics.
func (o s3Op) kind() string {
	return [...]string{"put", "list", "get", "delete"}[o]
}

// permission is the IAM action the operation needs.
func (o s3Op) permission() string {
	return [...]string{"s3:PutObject", "s3:ListBucket", "s3:GetObject", "s3:DeleteObject"}[o]
}

// call runs fn, counting every attempt as one request of kind op, and
// retries it as cfg.Retry says until it succeeds, fails permanently, runs
// out of attempts or ctx ends. key names the object (or prefix) in errors.
func (r *Registry) call(ctx context.Context, op s3Op, key string, fn func(ctx context.Context) error) error {
	counter := r.counters.counter(op)
	attempts, err := r.cfg.Retry.Do(ctx, r.clock, func(ctx context.Context) error {
		if err := ctx.Err(); err != nil {
			return err // no request with a context that has ended
		}
		counter.Add(1)
		err := fn(ctx)
		if err != nil && ctx.Err() == nil {
			r.counters.failed(op, err)
		}
		return err
	}, func(attempt int, wait time.Duration, err error) {
		r.logger.Debug("retrying S3 request", "op", op.String(), "key", key, "attempt", attempt, "sleep", wait, "error", err)
	})
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return r.s3Error(op, key, ctx.Err())
	case awscall.Retryable(err) && attempts >= r.cfg.Retry.MaxAttempts:
		return fmt.Errorf("registry: S3 %s s3://%s/%s failed %d times: %w; check that S3 is reachable (endpoint, network, VPC endpoint) and healthy",
			op, r.cfg.Bucket, key, attempts, err)
	}
	return r.s3Error(op, key, err)
}

// s3Error wraps a final error with the object and advice on what to do.
func (r *Registry) s3Error(op s3Op, key string, err error) error {
	obj := fmt.Sprintf("s3://%s/%s", r.cfg.Bucket, key)
	var advice string
	switch awscall.Classify(err) {
	case awscall.Canceled, awscall.PreconditionLost, awscall.NotFound:
		return fmt.Errorf("registry: S3 %s %s: %w", op, obj, err)
	case awscall.NoSuchBucket:
		advice = fmt.Sprintf("bucket %q does not exist; check the registry bucket name and region", r.cfg.Bucket)
	case awscall.AccessDenied:
		advice = fmt.Sprintf("access denied; check that the IAM policy allows %s on arn:aws:s3:::%s/%s*", op.permission(), r.cfg.Bucket, r.ClusterPrefix())
	case awscall.CredentialsRejected:
		advice = "credentials rejected; check the AWS credentials (instance role, AWS_ACCESS_KEY_ID, shared config)"
	case awscall.WrongRegion:
		advice = fmt.Sprintf("bucket %q is in another region; set the registry region", r.cfg.Bucket)
	default:
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("registry: S3 %s %s: %w", op, obj, err)
		}
		advice = "request rejected"
	}
	return fmt.Errorf("registry: S3 %s %s: %s: %w", op, obj, advice, err)
}
