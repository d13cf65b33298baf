package awscall

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// apiError is an AWS API error as the SDK returns it: the code inside an
// HTTP response error with the status. An empty code is a bare status.
func apiError(status int, code string) error {
	var inner error = &smithy.GenericAPIError{Code: code, Message: code}
	if code == "" {
		inner = errors.New("http response error")
	}
	return &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
		Err:      inner,
	}}
}

// operationError wraps err as the SDK does around every failed call.
func operationError(op string, err error) error {
	return &smithy.OperationError{ServiceID: "S3", OperationName: op, Err: err}
}

// The table every caller decides by. A code decides before the status; a
// status decides when the code is unknown or absent; no answer at all is
// Unreachable.
func TestClassify(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{}}
	for _, tc := range []struct {
		name string
		err  error
		want Class
	}{
		// Throttling, from S3 and EC2.
		{"S3 SlowDown", apiError(503, "SlowDown"), Throttled},
		{"EC2 RequestLimitExceeded", apiError(400, "RequestLimitExceeded"), Throttled},
		{"Throttling", apiError(400, "Throttling"), Throttled},
		{"ThrottlingException", apiError(400, "ThrottlingException"), Throttled},
		{"RequestThrottled", apiError(400, "RequestThrottled"), Throttled},
		{"TooManyRequestsException", apiError(400, "TooManyRequestsException"), Throttled},
		{"bare 429", apiError(429, ""), Throttled},
		// Server errors.
		{"InternalError", apiError(500, "InternalError"), ServerError},
		{"ServiceUnavailable", apiError(503, "ServiceUnavailable"), ServerError},
		{"EC2 Unavailable", apiError(503, "Unavailable"), ServerError},
		{"RequestTimeout", apiError(400, "RequestTimeout"), ServerError},
		{"OperationAborted", apiError(409, "OperationAborted"), ServerError},
		{"bare 502", apiError(502, ""), ServerError},
		{"bare 408", apiError(408, ""), ServerError},
		// No answer.
		{"connection refused", operationError("PutObject", fmt.Errorf("send request: %w", syscall.ECONNREFUSED)), Unreachable},
		{"dial error", operationError("ListObjectsV2", refused), Unreachable},
		{"deadline", operationError("GetObject", context.DeadlineExceeded), Unreachable},
		{"canceled", operationError("GetObject", fmt.Errorf("send: %w", context.Canceled)), Canceled},
		// Not found: an object, a bucket, an instance.
		{"NoSuchKey", apiError(404, "NoSuchKey"), NotFound},
		{"typed NoSuchKey", operationError("GetObject", &s3types.NoSuchKey{}), NotFound},
		{"HeadObject NotFound", apiError(404, "NotFound"), NotFound},
		{"bare 404", apiError(404, ""), NotFound},
		{"NoSuchBucket", apiError(404, "NoSuchBucket"), NoSuchBucket},
		{"InvalidInstanceID.NotFound", apiError(400, "InvalidInstanceID.NotFound"), InstanceNotFound},
		// Conditional writes: 412 from S3 and gofakes3, 409 when a concurrent
		// conditional write won.
		{"PreconditionFailed", apiError(412, "PreconditionFailed"), PreconditionLost},
		{"bare 412", apiError(412, ""), PreconditionLost},
		{"ConditionalRequestConflict", apiError(409, "ConditionalRequestConflict"), PreconditionLost},
		{"bare 409", apiError(409, ""), PreconditionLost},
		// Who is asking.
		{"InvalidAccessKeyId", apiError(403, "InvalidAccessKeyId"), CredentialsRejected},
		{"SignatureDoesNotMatch is 403 but credentials", apiError(403, "SignatureDoesNotMatch"), CredentialsRejected},
		{"ExpiredToken", apiError(400, "ExpiredToken"), CredentialsRejected},
		{"EC2 AuthFailure", apiError(401, "AuthFailure"), CredentialsRejected},
		{"AccessDenied", apiError(403, "AccessDenied"), AccessDenied},
		{"EC2 UnauthorizedOperation", apiError(403, "UnauthorizedOperation"), AccessDenied},
		{"bare 403", apiError(403, ""), AccessDenied},
		// Where.
		{"PermanentRedirect", apiError(301, "PermanentRedirect"), WrongRegion},
		{"AuthorizationHeaderMalformed", apiError(400, "AuthorizationHeaderMalformed"), WrongRegion},
		{"bare 301", apiError(301, ""), WrongRegion},
		{"NotImplemented", apiError(501, "NotImplemented"), NotImplemented},
		{"bare 501 is not a server error", apiError(501, ""), NotImplemented},
		// EC2 launches: capacity is a 500 that must not be retried.
		{"InsufficientInstanceCapacity is 500", apiError(500, "InsufficientInstanceCapacity"), InsufficientCapacity},
		{"InsufficientCapacity", apiError(500, "InsufficientCapacity"), InsufficientCapacity},
		{"IdempotentParameterMismatch", apiError(400, "IdempotentParameterMismatch"), IdempotentMismatch},
		// Anything else is a rejected request.
		{"InvalidParameterValue", apiError(400, "InvalidParameterValue"), Rejected},
		{"bare 400", apiError(400, ""), Rejected},
		{"nil", nil, Rejected},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Classify(tc.err)
			if got != tc.want {
				t.Fatalf("Classify(%v) = %s, want %s", tc.err, got, tc.want)
			}
			// Wrapping, as the registry and the coordinator do, keeps the class.
			if tc.err != nil {
				if w := Classify(fmt.Errorf("registry: S3 PutObject s3://b/k: %w", tc.err)); w != tc.want {
					t.Errorf("wrapped: %s, want %s", w, tc.want)
				}
			}
			if Is(tc.err, tc.want) != (tc.err != nil) {
				t.Errorf("Is(%v, %s) = %v", tc.err, tc.want, !(tc.err != nil))
			}
			retry := tc.want == Unreachable || tc.want == Throttled || tc.want == ServerError
			if Retryable(tc.err) != retry {
				t.Errorf("Retryable(%v) = %v, want %v", tc.err, !retry, retry)
			}
		})
	}
}

// Every class has a name, and every code in the table maps to a class that
// has one: a code added with a new class is not left nameless in logs.
func TestClassNames(t *testing.T) {
	for c := Rejected; c <= IdempotentMismatch; c++ {
		if c.String() == "unknown" {
			t.Errorf("class %d has no name", c)
		}
	}
	for code, c := range codes {
		if c.String() == "unknown" {
			t.Errorf("code %s maps to class %d without a name", code, c)
		}
	}
	if Class(99).String() != "unknown" {
		t.Error("an out-of-range class has a name")
	}
}

func TestCodeAndStatus(t *testing.T) {
	err := fmt.Errorf("ctx: %w", apiError(503, "SlowDown"))
	if Code(err) != "SlowDown" || HTTPStatus(err) != 503 {
		t.Errorf("Code, HTTPStatus = %q, %d; want SlowDown, 503", Code(err), HTTPStatus(err))
	}
	if Code(errors.New("x")) != "" || HTTPStatus(errors.New("x")) != 0 {
		t.Error("a plain error has a code or a status")
	}
}
