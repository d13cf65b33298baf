package ec2emu

import (
	"fmt"
	"net/http"
	"strings"
)

// apiError is an EC2 error response: a code, a message and the HTTP status
// EC2 sends with that code.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func errMissingParameter(name string) *apiError {
	return &apiError{http.StatusBadRequest, "MissingParameter",
		fmt.Sprintf("The request must contain the parameter %s", name)}
}

func errInvalidParameterValue(name, value string) *apiError {
	return &apiError{http.StatusBadRequest, "InvalidParameterValue",
		fmt.Sprintf("Value (%s) for parameter %s is invalid.", value, name)}
}

func errInvalidParameterCombination(msg string) *apiError {
	return &apiError{http.StatusBadRequest, "InvalidParameterCombination", msg}
}

func errInvalidAction(action string) *apiError {
	return &apiError{http.StatusBadRequest, "InvalidAction",
		fmt.Sprintf("The action %s is not valid for this web service.", action)}
}

func errInstanceNotFound(ids []string) *apiError {
	if len(ids) == 1 {
		return &apiError{http.StatusBadRequest, "InvalidInstanceID.NotFound",
			fmt.Sprintf("The instance ID '%s' does not exist", ids[0])}
	}
	return &apiError{http.StatusBadRequest, "InvalidInstanceID.NotFound",
		fmt.Sprintf("The instance IDs '%s' do not exist", strings.Join(ids, ", "))}
}

func errInstanceMalformed(id string) *apiError {
	return &apiError{http.StatusBadRequest, "InvalidInstanceID.Malformed",
		fmt.Sprintf("Invalid id: %q", id)}
}

func errMalformedID(code, id, want string) *apiError {
	return &apiError{http.StatusBadRequest, code,
		fmt.Sprintf("Invalid id: %q (expecting %q)", id, want)}
}

func errIncorrectState(id, verb string) *apiError {
	return &apiError{http.StatusBadRequest, "IncorrectInstanceState",
		fmt.Sprintf("The instance '%s' is not in a state from which it can be %s.", id, verb)}
}

func errAddressInUse(ip string) *apiError {
	return &apiError{http.StatusBadRequest, "InvalidIPAddress.InUse", fmt.Sprintf("Address %s is in use.", ip)}
}

var (
	errThrottled = &apiError{http.StatusServiceUnavailable, "RequestLimitExceeded",
		"Request limit exceeded."}
	errIdempotentMismatch = &apiError{http.StatusBadRequest, "IdempotentParameterMismatch",
		"Arguments on this idempotent request are inconsistent with arguments used in previous request(s)."}
	errDryRun = &apiError{http.StatusPreconditionFailed, "DryRunOperation",
		"Request would have succeeded, but DryRun flag is set."}
	errAuthFailure = &apiError{http.StatusUnauthorized, "AuthFailure",
		"AWS was not able to validate the provided access credentials"}
)
