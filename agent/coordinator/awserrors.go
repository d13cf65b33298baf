package coordinator

import (
	"errors"
	"net/http"

	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// errorCode is the AWS error code of err, or "" when it carries none.
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// httpStatus is the HTTP status of the response that produced err, or 0.
func httpStatus(err error) int {
	var he interface{ HTTPStatusCode() int }
	if errors.As(err, &he) {
		return he.HTTPStatusCode()
	}
	return 0
}

// isPreconditionFailed reports whether a conditional S3 write lost: 412
// PreconditionFailed, or 409 ConditionalRequestConflict (a concurrent
// conditional write won).
func isPreconditionFailed(err error) bool {
	switch errorCode(err) {
	case "PreconditionFailed", "ConditionalRequestConflict":
		return true
	}
	s := httpStatus(err)
	return s == http.StatusPreconditionFailed || s == http.StatusConflict
}

// isNoSuchKey reports whether an S3 GetObject found no object.
func isNoSuchKey(err error) bool {
	var nk *s3types.NoSuchKey
	if errors.As(err, &nk) {
		return true
	}
	switch errorCode(err) {
	case "NoSuchKey", "NotFound":
		return true
	}
	return httpStatus(err) == http.StatusNotFound
}

// isMissingKey reports whether a request on a key failed because the key
// does not exist (NoSuchKey, or a bare 404), not because the bucket does
// not.
func isMissingKey(err error) bool {
	return isNoSuchKey(err) && errorCode(err) != "NoSuchBucket"
}

// isThrottle reports whether an EC2 error is throttling worth retrying.
func isThrottle(err error) bool {
	switch errorCode(err) {
	case "RequestLimitExceeded", "Throttling", "ThrottlingException", "RequestThrottled", "TooManyRequestsException":
		return true
	}
	return false
}

// isInstanceNotFound reports an EC2 InvalidInstanceID.NotFound error: at
// least one instance id does not exist.
func isInstanceNotFound(err error) bool {
	return errorCode(err) == "InvalidInstanceID.NotFound"
}

// isInsufficientCapacity reports that EC2 has no capacity for the request in
// that subnet's availability zone.
func isInsufficientCapacity(err error) bool {
	switch errorCode(err) {
	case "InsufficientInstanceCapacity", "InsufficientCapacity":
		return true
	}
	return false
}

// isIdempotentMismatch reports that a ClientToken was reused with different
// parameters.
func isIdempotentMismatch(err error) bool {
	return errorCode(err) == "IdempotentParameterMismatch"
}
