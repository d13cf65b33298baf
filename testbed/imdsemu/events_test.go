package imdsemu

import (
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// eventSource is a settable Events source for a test.
type eventSource struct {
	mu sync.Mutex
	ev Events
}

func (s *eventSource) get() Events {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ev
}

func (s *eventSource) set(f func(*Events)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.ev)
}

func startWithEvents(t *testing.T, src *eventSource) *Server {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Identity = identity
	cfg.Events = src.get
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Listen(""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// wantNotFound asserts the SDK got IMDS's 404 for path.
func wantNotFound(t *testing.T, err error, path string) {
	t.Helper()
	var re *smithyhttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusNotFound {
		t.Errorf("GetMetadata(%s): %v; want 404 Not Found", path, err)
	}
}

// Notices appear in IMDS as EC2 serves them: 404 until there is one, then
// the JSON documents; always behind an IMDSv2 token.
func TestNoticesThroughSDK(t *testing.T) {
	src := &eventSource{}
	e := startWithEvents(t, src)
	c := sdkClient(t, e)
	for _, path := range []string{"spot/instance-action", "spot/termination-time", "events/recommendations/rebalance", "autoscaling/target-lifecycle-state"} {
		_, err := metadata(ctx(t), c, path)
		wantNotFound(t, err, path)
	}
	if got, err := metadata(ctx(t), c, "instance-life-cycle"); err != nil || got != "on-demand" {
		t.Errorf("instance-life-cycle = %q, %v; want on-demand", got, err)
	}

	due := time.Date(2026, 3, 1, 12, 2, 0, 500e6, time.UTC)
	src.set(func(ev *Events) {
		ev.Spot = true
		ev.SpotAction, ev.SpotActionTime = "terminate", due
		ev.RebalanceTime = time.Date(2026, 3, 1, 11, 58, 7, 0, time.UTC)
		ev.TargetLifecycleState = "InService"
	})
	got, err := metadata(ctx(t), c, "spot/instance-action")
	if err != nil || got != `{"action":"terminate","time":"2026-03-01T12:02:00Z"}` {
		t.Errorf("spot/instance-action = %q, %v", got, err)
	}
	var action struct{ Action, Time string }
	if err := json.Unmarshal([]byte(got), &action); err != nil || action.Action != "terminate" {
		t.Errorf("spot/instance-action is not EC2's JSON: %v", err)
	}
	for path, want := range map[string]string{
		"spot/termination-time":              "2026-03-01T12:02:00Z",
		"spot":                               "instance-action\ntermination-time",
		"events/recommendations/rebalance":   `{"noticeTime":"2026-03-01T11:58:07Z"}`,
		"autoscaling/target-lifecycle-state": "InService",
		"instance-life-cycle":                "spot",
	} {
		if got, err := metadata(ctx(t), c, path); err != nil || got != want {
			t.Errorf("GetMetadata(%s) = %q, %v; want %q", path, got, err, want)
		}
	}

	// stop: no termination-time; the lifecycle state moves on.
	src.set(func(ev *Events) { ev.SpotAction = "stop"; ev.TargetLifecycleState = "Terminated" })
	if got, err := metadata(ctx(t), c, "spot/instance-action"); err != nil || got != `{"action":"stop","time":"2026-03-01T12:02:00Z"}` {
		t.Errorf("spot/instance-action = %q, %v", got, err)
	}
	_, err = metadata(ctx(t), c, "spot/termination-time")
	wantNotFound(t, err, "spot/termination-time")
	if got, _ := metadata(ctx(t), c, "autoscaling/target-lifecycle-state"); got != "Terminated" {
		t.Errorf("target-lifecycle-state = %q, want Terminated", got)
	}

	// IMDSv2 only, as for every item.
	if code, _ := raw(t, e, http.MethodGet, "/latest/meta-data/spot/instance-action", nil); code != http.StatusUnauthorized {
		t.Errorf("spot/instance-action without a token: %d, want 401", code)
	}
}

// The identity document's pendingTime follows the instance's latest boot.
func TestPendingTimeFromEvents(t *testing.T) {
	src := &eventSource{}
	e := startWithEvents(t, src)
	c := sdkClient(t, e)
	boot := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	src.set(func(ev *Events) { ev.PendingTime = boot })
	doc, err := c.GetInstanceIdentityDocument(ctx(t), nil)
	if err != nil || !doc.PendingTime.Equal(boot) {
		t.Errorf("pendingTime = %v, %v; want %v", doc.PendingTime, err, boot)
	}
}
