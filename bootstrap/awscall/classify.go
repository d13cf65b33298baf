package awscall

import (
	"context"
	"errors"
	"net/http"

	"github.com/aws/smithy-go"
)

// Class is what an AWS error means to a caller deciding what to do next.
type Class int

// The classes. Only Unreachable, Throttled and ServerError are worth
// another attempt (Retryable).
const (
	// Rejected is any other answer: a bad request or a code not in the
	// table. Retrying sends the same request to the same refusal.
	Rejected Class = iota
	// Canceled is the caller's own context.Canceled.
	Canceled
	// Unreachable is no HTTP answer at all: connection refused or reset,
	// DNS, a transport or deadline timeout.
	Unreachable
	// Throttled is the service asking callers to slow down: SlowDown,
	// RequestLimitExceeded, Throttling..., or HTTP 429.
	Throttled
	// ServerError is a failure on the service's side that may pass:
	// InternalError, ServiceUnavailable, RequestTimeout..., HTTP 408 or 5xx
	// (but 501).
	ServerError
	// NotFound is an absent object or resource: NoSuchKey, NotFound, or
	// HTTP 404 without a more precise code.
	NotFound
	// NoSuchBucket is an absent bucket. It is not NotFound: an absent
	// record, lease or ledger is a normal state that callers handle, an
	// absent bucket is a misconfiguration that must reach the operator.
	NoSuchBucket
	// PreconditionLost is a conditional write (If-Match, If-None-Match)
	// that lost: HTTP 412 PreconditionFailed, or 409
	// ConditionalRequestConflict when a concurrent conditional write won.
	PreconditionLost
	// CredentialsRejected is a key, token or signature the service does
	// not accept: InvalidAccessKeyId, SignatureDoesNotMatch, ExpiredToken,
	// AuthFailure...
	CredentialsRejected
	// AccessDenied is valid credentials without the permission: AccessDenied,
	// UnauthorizedOperation, or HTTP 403 without a code.
	AccessDenied
	// WrongRegion is a bucket in another region than the client's:
	// PermanentRedirect, AuthorizationHeaderMalformed, HTTP 301.
	WrongRegion
	// NotImplemented is a server without a request feature (conditional
	// writes on some S3-compatible servers): HTTP 501.
	NotImplemented
	// InsufficientCapacity is EC2 without capacity for the instance type in
	// that zone. EC2 sends it as HTTP 500, but retrying the same zone does
	// not help: try another subnet.
	InsufficientCapacity
	// InstanceNotFound is EC2's InvalidInstanceID.NotFound: at least one
	// instance id of the request does not exist (any more).
	InstanceNotFound
	// IdempotentMismatch is a RunInstances ClientToken reused with other
	// parameters.
	IdempotentMismatch
)

var classNames = [...]string{"rejected", "canceled", "unreachable", "throttled", "server error", "not found",
	"no such bucket", "precondition lost", "credentials rejected", "access denied", "wrong region",
	"not implemented", "insufficient capacity", "instance not found", "idempotent mismatch"}

func (c Class) String() string {
	if c < 0 || int(c) >= len(classNames) {
		return "unknown"
	}
	return classNames[c]
}

// Retryable reports whether a call that failed this way may succeed if
// made again later.
func (c Class) Retryable() bool { return c == Unreachable || c == Throttled || c == ServerError }

// codes is what every AWS error code farmhand knows means. A code decides
// before the HTTP status: EC2 sends InsufficientInstanceCapacity as 500 and
// S3 sends SignatureDoesNotMatch as 403. Teach a new code here.
var codes = map[string]Class{
	// S3 and EC2 throttling.
	"SlowDown":                  Throttled,
	"Throttling":                Throttled,
	"ThrottlingException":       Throttled,
	"RequestLimitExceeded":      Throttled,
	"RequestThrottled":          Throttled,
	"RequestThrottledException": Throttled,
	"TooManyRequestsException":  Throttled,
	// Transient failures on the service's side.
	"InternalError":           ServerError,
	"InternalFailure":         ServerError,
	"ServiceUnavailable":      ServerError,
	"Unavailable":             ServerError,
	"RequestTimeout":          ServerError,
	"RequestTimeoutException": ServerError,
	"OperationAborted":        ServerError, // S3: a conflicting operation is in progress; try again
	// Absent things.
	"NoSuchKey":                  NotFound,
	"NotFound":                   NotFound,
	"NoSuchBucket":               NoSuchBucket,
	"InvalidInstanceID.NotFound": InstanceNotFound,
	// Conditional writes.
	"PreconditionFailed":         PreconditionLost,
	"ConditionalRequestConflict": PreconditionLost,
	// Who is asking.
	"InvalidAccessKeyId":          CredentialsRejected,
	"SignatureDoesNotMatch":       CredentialsRejected,
	"ExpiredToken":                CredentialsRejected,
	"ExpiredTokenException":       CredentialsRejected,
	"InvalidToken":                CredentialsRejected,
	"TokenRefreshRequired":        CredentialsRejected,
	"AuthFailure":                 CredentialsRejected, // EC2
	"InvalidClientTokenId":        CredentialsRejected,
	"UnrecognizedClientException": CredentialsRejected,
	"AccessDenied":                AccessDenied,
	"AccessDeniedException":       AccessDenied,
	"AllAccessDisabled":           AccessDenied,
	"UnauthorizedOperation":       AccessDenied, // EC2
	// Where.
	"PermanentRedirect":            WrongRegion,
	"AuthorizationHeaderMalformed": WrongRegion,
	"NotImplemented":               NotImplemented,
	// EC2 launches.
	"InsufficientInstanceCapacity": InsufficientCapacity,
	"InsufficientCapacity":         InsufficientCapacity,
	"IdempotentParameterMismatch":  IdempotentMismatch,
}

// Classify says what err, returned by an aws-sdk-go-v2 call, means: by its
// error code (the codes table), else by its HTTP status, else Unreachable
// when no answer came. nil is Rejected; check for nil first.
func Classify(err error) Class {
	if errors.Is(err, context.Canceled) {
		return Canceled
	}
	if c, ok := codes[Code(err)]; ok {
		return c
	}
	switch s := HTTPStatus(err); {
	case s == 0:
		if err == nil {
			return Rejected
		}
		return Unreachable
	case s == http.StatusTooManyRequests:
		return Throttled
	case s == http.StatusRequestTimeout:
		return ServerError
	case s == http.StatusNotImplemented:
		return NotImplemented
	case s >= 500:
		return ServerError
	case s == http.StatusNotFound:
		return NotFound
	case s == http.StatusPreconditionFailed || s == http.StatusConflict:
		return PreconditionLost
	case s == http.StatusForbidden && Code(err) == "":
		return AccessDenied
	case s == http.StatusMovedPermanently:
		return WrongRegion
	}
	return Rejected
}

// Is reports whether err is of class c.
func Is(err error, c Class) bool { return err != nil && Classify(err) == c }

// Retryable reports whether a call that failed with err may succeed if
// made again later: no answer, throttled, or a server error. Access,
// credential, bucket and request errors are not, nor is a canceled call.
func Retryable(err error) bool { return err != nil && Classify(err).Retryable() }

// Code is the AWS error code of err, or "" when it carries none.
func Code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// HTTPStatus is the HTTP status of the response that produced err, or 0
// when no response came.
func HTTPStatus(err error) int {
	var he interface{ HTTPStatusCode() int }
	if errors.As(err, &he) {
		return he.HTTPStatusCode()
	}
	return 0
}
