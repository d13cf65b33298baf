package awscall

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
)

// EC2Retryer is the coordinator's one retry layer: the SDK's standard
// retryer (throttling and 5xx errors, three attempts, capped exponential
// backoff with full jitter, and a client-wide retry quota that stops
// retrying when most calls fail) except that it never retries
// InsufficientCapacity. The coordinator adds no loop of its own: a call that
// still fails is recorded, and the next tick, at least one interval later,
// tries again. Mutations run under the acting window's deadline, which also
// ends the retryer's waits. EC2 sends that as HTTP 500, so the standard
// retryer would try the same full zone three times before the coordinator
// could move to the group's next subnet.
func EC2Retryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		noCapacity := retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
			if Is(err, InsufficientCapacity) {
				return aws.FalseTernary
			}
			return aws.UnknownTernary
		})
		o.Retryables = append([]retry.IsErrorRetryable{noCapacity}, o.Retryables...)
	})
}
