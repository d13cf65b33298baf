package client

import (
	"context"
	"errors"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// dialErr builds the error net/http returns when dialing the socket fails with errno.
func dialErr(errno syscall.Errno) error {
	return &url.Error{Op: "Get", URL: "http://farmhand/v1/status", Err: &net.OpError{
		Op: "dial", Net: "unix", Addr: &net.UnixAddr{Name: "/s", Net: "unix"},
		Err: os.NewSyscallError("connect", errno),
	}}
}

func TestTransportErrorKinds(t *testing.T) {
	const sock = "/run/farmhand/farmhand.sock"
	for _, tc := range []struct {
		name string
		err  error
		kind error
		want string
	}{
		{"missing", dialErr(syscall.ENOENT), ErrNotRunning,
			"cannot reach the farmhand agent at " + sock + ": agent not running? (start it with 'systemctl start farmhand', or set -socket / FARMHAND_SOCKET)"},
		{"refused", dialErr(syscall.ECONNREFUSED), ErrNotRunning, "agent not running?"},
		{"eacces", dialErr(syscall.EACCES), ErrPermission, "permission denied on " + sock + ": run as root or join group farmhand"},
		{"eperm", dialErr(syscall.EPERM), ErrPermission, "run as root or join group farmhand"},
		{"deadline", &url.Error{Op: "Get", Err: context.DeadlineExceeded}, ErrTimeout, "timed out after 1.5s waiting for the farmhand agent at " + sock},
		{"reset", dialErr(syscall.ECONNRESET), nil, "talking to the farmhand agent at " + sock},
	} {
		err := transportError("GET /v1/status", sock, 1500*time.Millisecond, tc.err)
		if tc.kind != nil && !errors.Is(err, tc.kind) {
			t.Errorf("%s: %v is not %v", tc.name, err, tc.kind)
		}
		for _, k := range []error{ErrNotRunning, ErrPermission, ErrTimeout} {
			if k != tc.kind && errors.Is(err, k) {
				t.Errorf("%s: %v wrongly matches %v", tc.name, err, k)
			}
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %q does not contain %q", tc.name, err, tc.want)
		}
		if !errors.Is(err, tc.err) {
			t.Errorf("%s: the cause is not wrapped", tc.name)
		}
	}
	err := transportError("GET /v1/status", sock, 0, &url.Error{Op: "Get", Err: context.Canceled})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "interrupted") {
		t.Errorf("cancelled call: %v, want context.Canceled saying interrupted", err)
	}
}
