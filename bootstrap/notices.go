package bootstrap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"

	"github.com/farmhand/farmhand/bootstrap/awscall"
)

// The IMDS paths (under /latest/meta-data/) that announce this instance's
// end, as EC2 serves them: each answers 404 until there is a notice.
const (
	SpotActionPath     = "spot/instance-action"
	RebalancePath      = "events/recommendations/rebalance"
	LifecycleStatePath = "autoscaling/target-lifecycle-state"
)

// LifecycleTerminated is the Auto Scaling target lifecycle state of an
// instance the group is terminating.
const LifecycleTerminated = "Terminated"

// Spot interruption actions (spot/instance-action "action").
var spotActions = []string{"terminate", "stop", "hibernate"}

// Notices is what IMDS says, at one reading, about this instance's end.
// The zero value is "no notice".
type Notices struct {
	// SpotAction is the spot interruption's action: terminate, stop or
	// hibernate; empty: no interruption notice.
	SpotAction string
	// SpotTime is when EC2 carries the interruption out.
	SpotTime time.Time
	// RebalanceAt is the rebalance recommendation's noticeTime; zero: none.
	RebalanceAt time.Time
	// LifecycleState is Auto Scaling's target lifecycle state (InService,
	// Terminated, Warmed:Stopped, ...); empty: not answered (not in a
	// group, or the group does not publish it).
	LifecycleState string
}

// Terminating reports whether the instance is about to be terminated or
// stopped: a spot interruption, or Auto Scaling's Terminated state.
func (n Notices) Terminating() bool {
	return n.SpotAction != "" || n.LifecycleState == LifecycleTerminated
}

// NoticeReader reads Notices from IMDSv2. It keeps its session token
// between reads (the SDK renews it) and its connection, so a poll costs
// three local GETs. Safe for one goroutine at a time.
type NoticeReader struct {
	endpoint string
	timeout  time.Duration
	tr       *imdsTransport
	client   *imds.Client
}

// DefaultNoticeTimeout bounds one Read.
const DefaultNoticeTimeout = 2 * time.Second

// NewNoticeReader returns a reader of the IMDS at endpoint (default
// DefaultIMDSEndpoint) whose every Read is bounded by timeout (default
// DefaultNoticeTimeout). It makes no request.
func NewNoticeReader(endpoint string, timeout time.Duration) *NoticeReader {
	if endpoint == "" {
		endpoint = DefaultIMDSEndpoint
	}
	if timeout <= 0 {
		timeout = DefaultNoticeTimeout
	}
	tr := newIMDSTransport()
	return &NoticeReader{endpoint: endpoint, timeout: timeout, tr: tr, client: imds.New(imds.Options{
		Endpoint:                 endpoint,
		EnableFallback:           aws.FalseTernary,
		ClientEnableState:        imds.ClientEnabled,
		HTTPClient:               &http.Client{Transport: tr},
		DisableDefaultMaxBackoff: true,
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			// The next poll is the retry; one more attempt covers a
			// dropped connection.
			o.MaxAttempts = 2
			o.MaxBackoff = imdsMaxBackoff
			o.Retryables = append([]retry.IsErrorRetryable{notRetryingRefused}, o.Retryables...)
			o.RateLimiter = ratelimit.None
		}),
	})}
}

// Close releases the reader's idle connection.
func (r *NoticeReader) Close() { r.tr.base.CloseIdleConnections() }

// Read reads the three notice paths. A path that answers 404 has no
// notice. A path that cannot be read or answers something that is not
// EC2's format adds an error naming the path (errors.Join) and leaves its
// fields zero; the other paths are still read and returned, so one bad
// answer hides no notice.
func (r *NoticeReader) Read(ctx context.Context) (Notices, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	var n Notices
	var errs []error
	for _, p := range []struct {
		path  string
		parse func(string, *Notices) error
	}{
		{SpotActionPath, parseSpotAction},
		{LifecycleStatePath, parseLifecycleState},
		{RebalancePath, parseRebalance},
	} {
		body, found, err := r.get(ctx, p.path)
		if err == nil && found {
			err = p.parse(body, &n)
		}
		if err != nil {
			if errors.Is(ctx.Err(), context.Canceled) {
				return n, ctx.Err()
			}
			errs = append(errs, &NoticeError{Endpoint: r.endpoint, Path: p.path, Err: err})
		}
	}
	return n, errors.Join(errs...)
}

// get reads one path; found is false on 404.
func (r *NoticeReader) get(ctx context.Context, path string) (body string, found bool, err error) {
	out, err := r.client.GetMetadata(ctx, &imds.GetMetadataInput{Path: path})
	if awscall.HTTPStatus(err) == http.StatusNotFound {
		return "", false, nil
	}
	if err != nil {
		return "", false, errors.New(describeIMDSError(ctx, err, r.tr, path, r.timeout))
	}
	defer out.Content.Close()
	b, err := io.ReadAll(io.LimitReader(out.Content, imdsMaxValueLength))
	if err != nil {
		return "", false, fmt.Errorf("reading the answer: %w", err)
	}
	return strings.TrimSpace(string(b)), true, nil
}

// NoticeError is a notice path that could not be read or parsed.
type NoticeError struct {
	Endpoint, Path string
	Err            error
}

func (e *NoticeError) Error() string {
	return fmt.Sprintf("IMDS %s/latest/meta-data/%s: %v", e.Endpoint, e.Path, e.Err)
}

func (e *NoticeError) Unwrap() error { return e.Err }

// parseSpotAction reads {"action": "terminate", "time": "2026-...Z"}.
func parseSpotAction(body string, n *Notices) error {
	var v struct {
		Action string `json:"action"`
		Time   string `json:"time"`
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		return fmt.Errorf("not EC2's {\"action\", \"time\"} JSON (%q): %w", clip(body), err)
	}
	if !contains(spotActions, v.Action) {
		return fmt.Errorf("action %q is not one of %s", clip(v.Action), strings.Join(spotActions, ", "))
	}
	t, err := time.Parse(time.RFC3339, v.Time)
	if err != nil {
		return fmt.Errorf("time %q: %w", clip(v.Time), err)
	}
	n.SpotAction, n.SpotTime = v.Action, t
	return nil
}

// parseRebalance reads {"noticeTime": "2026-...Z"}.
func parseRebalance(body string, n *Notices) error {
	var v struct {
		NoticeTime string `json:"noticeTime"`
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		return fmt.Errorf("not EC2's {\"noticeTime\"} JSON (%q): %w", clip(body), err)
	}
	t, err := time.Parse(time.RFC3339, v.NoticeTime)
	if err != nil {
		return fmt.Errorf("noticeTime %q: %w", clip(v.NoticeTime), err)
	}
	n.RebalanceAt = t
	return nil
}

// parseLifecycleState reads a state name such as InService or Terminated.
func parseLifecycleState(body string, n *Notices) error {
	if body == "" || len(body) > 64 || strings.IndexFunc(body, func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == ':')
	}) >= 0 {
		return fmt.Errorf("%q is not a lifecycle state such as InService or Terminated", clip(body))
	}
	n.LifecycleState = body
	return nil
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
