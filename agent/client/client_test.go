package client_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/farmhand/farmhand/agent/client"
	"github.com/farmhand/farmhand/agent/localapi"
	"github.com/farmhand/farmhand/agent/localapi/localapitest"
	"github.com/farmhand/farmhand/membership"
	"github.com/jonboulle/clockwork"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func fakeAgent() *localapitest.Backend {
	st := localapi.Status{Name: "i-1", Cluster: "prod", State: localapi.StateAlive, Joins: 2}
	return localapitest.NewBackend(clockwork.NewFakeClockAt(t0), st,
		membership.Member{Name: "i-2", Addr: "10.0.0.2", Port: 7946, Status: membership.StatusAlive, Tags: map[string]string{"role": "worker", "az": "a"}},
		membership.Member{Name: "i-1", Addr: "10.0.0.1", Port: 7946, Status: membership.StatusAlive, Tags: map[string]string{"role": "master", "az": "a"}},
		membership.Member{Name: "i-3", Addr: "10.0.0.3", Port: 7946, Status: membership.StatusDead, Tags: map[string]string{"role": "worker", "az": "b"}},
	)
}

func TestCalls(t *testing.T) {
	b := fakeAgent()
	c := client.New(localapitest.Serve(t, b))
	ctx := context.Background()

	st, err := c.Status(ctx)
	if err != nil || st.Name != "i-1" || st.Cluster != "prod" || st.Joins != 2 || !st.LastChange.Equal(t0) || st.Counts["alive"] != 2 {
		t.Errorf("Status = %+v, %v", st, err)
	}
	for _, tc := range []struct {
		f    client.Filter
		want []string
	}{
		{client.Filter{}, []string{"i-1", "i-2", "i-3"}},
		{client.Filter{Status: "alive", Role: "worker"}, []string{"i-2"}},
		{client.Filter{Tags: map[string]string{"az": "b"}}, []string{"i-3"}},
		{client.Filter{Role: "nobody"}, nil},
	} {
		ms, err := c.Members(ctx, tc.f)
		var got []string
		for _, m := range ms {
			got = append(got, m.Name)
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Members(%+v) = %v, %v; want %v", tc.f, got, err, tc.want)
		}
	}
	if r, err := c.Reload(ctx); err != nil || r.Message == "" || b.Reloads() != 1 {
		t.Errorf("Reload = %+v, %v; reloads %d", r, err, b.Reloads())
	}
	if r, err := c.Leave(ctx); err != nil || r.Name != "i-1" || b.Leaves() != 1 {
		t.Errorf("Leave = %+v, %v; leaves %d", r, err, b.Leaves())
	}
}

func TestServerErrorsSurface(t *testing.T) {
	b := fakeAgent()
	c := client.New(localapitest.Serve(t, b))
	ctx := context.Background()

	_, err := c.Members(ctx, client.Filter{Status: "zombie"})
	var ce *client.Error
	if !errors.Is(err, client.ErrBadRequest) || !errors.As(err, &ce) || ce.Status != 400 || !strings.Contains(err.Error(), "query parameter status") {
		t.Errorf("bad filter: %v, want ErrBadRequest carrying the server's message", err)
	}
	err = c.Do(ctx, http.MethodGet, "/v1/no-such-thing", nil, nil, nil)
	if !errors.Is(err, client.ErrNotSupported) || !strings.Contains(err.Error(), "no endpoint /v1/no-such-thing") {
		t.Errorf("unknown endpoint: %v, want ErrNotSupported with the server's message", err)
	}
	// A backend without the coordinator answers 501 naming the setting.
	_, err = c.CoordinatorStatus(ctx)
	if !errors.Is(err, client.ErrNotSupported) || !strings.Contains(err.Error(), "coordinator { enabled = true }") {
		t.Errorf("coordinator on a plain agent: %v, want ErrNotSupported naming the setting", err)
	}
	b.FailWith(errors.New("view unavailable"))
	_, err = c.Status(ctx)
	if !errors.As(err, &ce) || ce.Status != 500 || !strings.Contains(err.Error(), "view unavailable") {
		t.Errorf("backend failure: %v, want status 500 with the message", err)
	}
}

// rawServe serves h on a fresh unix socket until t ends.
func rawServe(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	sock := filepath.Join(localapitest.SocketDir(t), "raw.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: time.Second}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return sock
}

func TestNotImplementedAndGarbage(t *testing.T) {
	sock := rawServe(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/render":
			w.WriteHeader(http.StatusNotImplemented)
			w.Write([]byte(`{"error":"render is not available on this agent"}`))
		case "/v1/status":
			w.Write([]byte("<html>hello</html>"))
		default:
			w.WriteHeader(http.StatusBadGateway)
			w.Write([]byte("upstream broke"))
		}
	})
	c := client.New(sock)
	ctx := context.Background()
	err := c.Do(ctx, http.MethodPost, "/v1/render", nil, map[string]string{"target": "hadoop"}, nil)
	if !errors.Is(err, client.ErrNotSupported) || !strings.Contains(err.Error(), "render is not available") {
		t.Errorf("501: %v", err)
	}
	if _, err := c.Status(ctx); err == nil || !strings.Contains(err.Error(), "is a farmhand agent serving there?") {
		t.Errorf("non-JSON answer: %v", err)
	}
	if err := c.Do(ctx, http.MethodGet, "/other", nil, nil, nil); err == nil || !strings.Contains(err.Error(), "upstream broke") || !strings.Contains(err.Error(), "502") {
		t.Errorf("non-JSON error answer: %v", err)
	}
}

func TestNotRunning(t *testing.T) {
	dir := localapitest.SocketDir(t)
	missing := filepath.Join(dir, "missing.sock")
	stale := filepath.Join(dir, "stale.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: stale, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	for _, sock := range []string{missing, stale} {
		_, err := client.New(sock).Status(context.Background())
		if !errors.Is(err, client.ErrNotRunning) || !strings.Contains(err.Error(), "cannot reach the farmhand agent at "+sock+": agent not running?") {
			t.Errorf("%s: %v, want ErrNotRunning naming the socket", sock, err)
		}
	}
}

func TestTimeout(t *testing.T) {
	b := fakeAgent()
	release := b.Block()
	defer release()
	c := client.New(localapitest.Serve(t, b))
	c.Timeout = 50 * time.Millisecond
	_, err := c.Status(context.Background())
	if !errors.Is(err, client.ErrTimeout) || !strings.Contains(err.Error(), "timed out after") {
		t.Errorf("blocked agent: %v, want ErrTimeout", err)
	}
}

func TestCancelledContext(t *testing.T) {
	c := client.New(localapitest.Serve(t, fakeAgent()))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Status(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled call: %v, want context.Canceled", err)
	}
}
