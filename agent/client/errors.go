package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"
	"time"
)

// Kinds of failure, for errors.Is on the errors this package returns.
var (
	// ErrNotRunning means nothing listens on the socket (missing or refused).
	ErrNotRunning = errors.New("farmhand agent not running")
	// ErrPermission means the caller may not open the socket.
	ErrPermission = errors.New("permission denied on the farmhand socket")
	// ErrTimeout means the agent did not answer in time.
	ErrTimeout = errors.New("timed out waiting for the farmhand agent")
	// ErrBadRequest means the agent rejected the request as invalid (HTTP 400).
	ErrBadRequest = errors.New("the farmhand agent rejected the request")
	// ErrNotSupported means the agent does not offer the endpoint (HTTP 404 or 501).
	ErrNotSupported = errors.New("not supported by this farmhand agent")
)

// Error is a failed call. Its text is one line for a person; errors.Is
// matches its Kind and its cause.
type Error struct {
	// Op is the call, e.g. "GET /v1/members".
	Op string
	// Socket is the socket path the call used.
	Socket string
	// Kind is one of the Err* values above, or nil when none applies.
	Kind error
	// Status is the HTTP status when the agent answered with an error, else 0.
	Status int
	// Message is the text Error returns.
	Message string
	// Err is the underlying cause, if any.
	Err error
}

func (e *Error) Error() string { return e.Message }

// Unwrap exposes Kind and Err to errors.Is and errors.As.
func (e *Error) Unwrap() []error {
	var errs []error
	for _, err := range []error{e.Kind, e.Err} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// transportError explains a failure to reach the agent or read its answer.
func transportError(op, socket string, elapsed time.Duration, err error) error {
	e := &Error{Op: op, Socket: socket, Err: err}
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled):
		e.Message = fmt.Sprintf("%s on %s: interrupted", op, socket)
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		e.Kind = ErrTimeout
		e.Message = fmt.Sprintf("timed out after %s waiting for the farmhand agent at %s (%s): is it stuck? see 'journalctl -u farmhand'",
			elapsed.Round(time.Millisecond), socket, op)
	case errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED):
		e.Kind = ErrNotRunning
		e.Message = fmt.Sprintf("cannot reach the farmhand agent at %s: agent not running? (start it with 'systemctl start farmhand', or set -socket / FARMHAND_SOCKET)", socket)
	case errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM):
		e.Kind = ErrPermission
		e.Message = fmt.Sprintf("permission denied on %s: run as root or join group farmhand", socket)
	default:
		e.Message = fmt.Sprintf("talking to the farmhand agent at %s (%s): %v", socket, op, err)
	}
	return e
}

// apiError explains an error answer from the agent, carrying its message.
func apiError(op, socket string, status int, msg string) error {
	e := &Error{Op: op, Socket: socket, Status: status}
	switch status {
	case http.StatusBadRequest:
		e.Kind = ErrBadRequest
	case http.StatusNotFound, http.StatusNotImplemented:
		e.Kind = ErrNotSupported
	}
	e.Message = fmt.Sprintf("%s (the agent at %s answered %d to %s)", msg, socket, status, op)
	return e
}
