package coordinator

import (
	"net/http"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// ec2Error is an EC2 API error as the SDK returns it: the code inside an
// HTTP response error with the status.
func ec2Error(status int, code string) error {
	return &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
		Err:      &smithy.GenericAPIError{Code: code, Message: code},
	}}
}

func TestEC2RetryerMovesOnFromAFullZone(t *testing.T) {
	r := EC2Retryer()
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{ec2Error(http.StatusInternalServerError, "InsufficientInstanceCapacity"), false},
		{ec2Error(http.StatusInternalServerError, "InternalError"), true},
		{ec2Error(http.StatusServiceUnavailable, "Unavailable"), true},
		{ec2Error(http.StatusBadRequest, "RequestLimitExceeded"), true},
		{ec2Error(http.StatusBadRequest, "InvalidParameterValue"), false},
	} {
		if got := r.IsErrorRetryable(tc.err); got != tc.want {
			t.Errorf("IsErrorRetryable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
	if r.MaxAttempts() != 3 {
		t.Errorf("MaxAttempts = %d, want the standard 3", r.MaxAttempts())
	}
}
