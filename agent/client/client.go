package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/farmhand/farmhand/agent/coordinator"
	"github.com/farmhand/farmhand/agent/localapi"
	"github.com/farmhand/farmhand/agent/render"
	"github.com/farmhand/farmhand/bootstrap"
	"github.com/farmhand/farmhand/membership"
)

// DefaultTimeout bounds each call of a new Client.
const DefaultTimeout = 30 * time.Second

// maxResponse caps the size of an answer the client reads.
const maxResponse = 64 << 20

// Filter selects members; it is the filter the agent applies server-side.
type Filter = localapi.MemberFilter

// Client talks to one agent's local API over its unix socket. It is safe
// for concurrent use and holds no idle connections, so it needs no Close.
type Client struct {
	// Timeout bounds each call on top of the caller's context; 0 leaves
	// only the context.
	Timeout time.Duration

	socket string
	hc     *http.Client
}

// New returns a Client for the agent listening on socketPath.
func New(socketPath string) *Client {
	dialer := &net.Dialer{}
	return &Client{
		Timeout: DefaultTimeout,
		socket:  socketPath,
		hc: &http.Client{Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return dialer.DialContext(ctx, "unix", socketPath)
			},
			// One connection per call: nothing lingers between calls.
			DisableKeepAlives: true,
		}},
	}
}

// Socket is the socket path the client dials.
func (c *Client) Socket() string { return c.socket }

// Status describes the agent's node (GET /v1/status).
func (c *Client) Status(ctx context.Context) (localapi.Status, error) {
	var st localapi.Status
	err := c.Do(ctx, http.MethodGet, "/v1/status", nil, nil, &st)
	return st, err
}

// Members returns the members matching f, sorted by name (GET /v1/members).
func (c *Client) Members(ctx context.Context, f Filter) ([]membership.Member, error) {
	var resp localapi.MembersResponse
	err := c.Do(ctx, http.MethodGet, "/v1/members", f.Query(), nil, &resp)
	return resp.Members, err
}

// Leave asks the agent to leave the cluster gracefully and exit (POST /v1/leave).
func (c *Client) Leave(ctx context.Context) (localapi.LeaveResponse, error) {
	var resp localapi.LeaveResponse
	err := c.Do(ctx, http.MethodPost, "/v1/leave", nil, nil, &resp)
	return resp, err
}

// Reload asks the agent to reread its configuration (POST /v1/reload).
func (c *Client) Reload(ctx context.Context) (localapi.ReloadResponse, error) {
	var resp localapi.ReloadResponse
	err := c.Do(ctx, http.MethodPost, "/v1/reload", nil, nil, &resp)
	return resp, err
}

// WatchMembers is a blocking query (GET /v1/members?index=N&wait=D): it
// returns the members matching f once the view's index differs from index,
// or when wait is over, with the index to pass next time. Index 0 answers
// at once; wait 0 is the agent's default (localapi.DefaultWait). A watcher
// loops, passing the index it got back.
func (c *Client) WatchMembers(ctx context.Context, f Filter, index uint64, wait time.Duration) ([]membership.Member, uint64, error) {
	q := f.Query()
	if q == nil {
		q = url.Values{}
	}
	q.Set("index", strconv.FormatUint(index, 10))
	if wait > 0 {
		q.Set("wait", wait.String())
	} else {
		wait = localapi.DefaultWait
	}
	// The call may last the wait and its jitter (a sixteenth) on top of
	// the client's timeout.
	var resp localapi.MembersResponse
	h, err := c.do(ctx, c.Timeout+min(wait, localapi.MaxWait)*17/16, http.MethodGet, "/v1/members", q, nil, &resp)
	if err != nil {
		return nil, 0, err
	}
	next, err := strconv.ParseUint(h.Get(localapi.IndexHeader), 10, 64)
	if err != nil {
		return nil, 0, &Error{Op: "GET /v1/members", Socket: c.socket, Err: err,
			Message: fmt.Sprintf("the agent at %s sent no %s header (is it older than blocking queries?)", c.socket, localapi.IndexHeader)}
	}
	return resp.Members, next, nil
}

// Do calls one endpoint: it sends in (if not nil) as a JSON body, and
// decodes a 2xx answer into out (if not nil). Errors are *Error.
func (c *Client) Do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	_, err := c.do(ctx, c.Timeout, method, path, query, in, out)
	return err
}

// do is Do with its own timeout, returning the answer's headers.
func (c *Client) do(ctx context.Context, timeout time.Duration, method, path string, query url.Values, in, out any) (http.Header, error) {
	op := method + " " + path
	if timeout > 0 && c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, &Error{Op: op, Socket: c.socket, Message: fmt.Sprintf("encoding the %s request: %v", op, err), Err: err}
		}
		body = bytes.NewReader(b)
	}
	target := "http://farmhand" + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, &Error{Op: op, Socket: c.socket, Message: fmt.Sprintf("building the %s request: %v", op, err), Err: err}
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, transportError(op, c.socket, time.Since(start), err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, transportError(op, c.socket, time.Since(start), err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var e localapi.ErrorResponse
		if json.Unmarshal(raw, &e) != nil || e.Error == "" {
			e.Error = fmt.Sprintf("%s: %s", resp.Status, snippet(raw))
		}
		return nil, apiError(op, c.socket, resp.StatusCode, e.Error)
	}
	if out == nil {
		return resp.Header, nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return nil, &Error{Op: op, Socket: c.socket, Err: err,
			Message: fmt.Sprintf("unexpected answer to %s from %s (is a farmhand agent serving there?): %v", op, c.socket, err)}
	}
	return resp.Header, nil
}

// snippet shortens a body for an error message.
func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// CoordinatorStatus returns the coordinator's state (leader, lease, frozen
// groups, pending replacements, recent decisions).
func (c *Client) CoordinatorStatus(ctx context.Context) (coordinator.Status, error) {
	var out coordinator.Status
	err := c.Do(ctx, http.MethodGet, "/v1/coordinator/status", nil, nil, &out)
	return out, err
}

// CoordinatorHistory returns the last n decisions, oldest first (all for n <= 0).
func (c *Client) CoordinatorHistory(ctx context.Context, n int) ([]coordinator.Decision, error) {
	var out localapi.HistoryResponse
	q := url.Values{}
	if n > 0 {
		q.Set("n", strconv.Itoa(n))
	}
	err := c.Do(ctx, http.MethodGet, "/v1/coordinator/history", q, nil, &out)
	return out.Decisions, err
}

// CoordinatorPlan returns what the coordinator would do now and why.
func (c *Client) CoordinatorPlan(ctx context.Context) (coordinator.Plan, error) {
	var out coordinator.Plan
	err := c.Do(ctx, http.MethodGet, "/v1/coordinator/plan", nil, nil, &out)
	return out, err
}

// RenderStatus returns the state of every render block.
func (c *Client) RenderStatus(ctx context.Context) ([]render.TargetStatus, error) {
	var out localapi.RenderResponse
	err := c.Do(ctx, http.MethodGet, "/v1/render", nil, nil, &out)
	return out.Targets, err
}

// CheckBucket asks the agent to HEAD the registry's bucket (one request).
func (c *Client) CheckBucket(ctx context.Context) (bootstrap.BucketStatus, error) {
	var out bootstrap.BucketStatus
	err := c.Do(ctx, http.MethodGet, "/v1/registry/bucket", nil, nil, &out)
	return out, err
}
