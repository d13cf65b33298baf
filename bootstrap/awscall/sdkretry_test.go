package awscall

import (
	"net/http"
	"testing"
)

func TestEC2RetryerMovesOnFromAFullZone(t *testing.T) {
	r := EC2Retryer()
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{apiError(http.StatusInternalServerError, "InsufficientInstanceCapacity"), false},
		{apiError(http.StatusInternalServerError, "InternalError"), true},
		{apiError(http.StatusServiceUnavailable, "Unavailable"), true},
		{apiError(http.StatusBadRequest, "RequestLimitExceeded"), true},
		{apiError(http.StatusBadRequest, "InvalidParameterValue"), false},
	} {
		if got := r.IsErrorRetryable(tc.err); got != tc.want {
			t.Errorf("IsErrorRetryable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
	if r.MaxAttempts() != 3 {
		t.Errorf("MaxAttempts = %d, want the standard 3", r.MaxAttempts())
	}
}
