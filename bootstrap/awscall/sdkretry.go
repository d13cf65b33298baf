package awscall

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
)

// EC2Retryer is the SDK's standard retryer (throttling and 5xx errors,
// three attempts, jittered backoff) except that it never retries
// InsufficientCapacity. EC2 sends that as HTTP 500, so the standard
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
