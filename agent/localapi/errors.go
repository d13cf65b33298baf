package localapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// HTTPError is an error with the HTTP status the API answers it with.
// Handlers and backends may return one; any other error becomes a 500.
type HTTPError struct {
	// Code is the HTTP status code, e.g. http.StatusBadRequest.
	Code int
	// Message is the one-line text sent as {"error": Message}.
	Message string
}

func (e *HTTPError) Error() string { return e.Message }

// Errorf returns an *HTTPError with the given status code.
func Errorf(code int, format string, args ...any) error {
	return &HTTPError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// errorCode picks the HTTP status for err.
func errorCode(err error) int {
	var he *HTTPError
	if errors.As(err, &he) {
		return he.Code
	}
	return http.StatusInternalServerError
}

// writeJSON writes v with code as the status.
func writeJSON(w http.ResponseWriter, code int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding the response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, err = w.Write(append(body, '\n'))
	return err
}
