package localapi_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/farmhand/farmhand/agent/localapi"
	"github.com/farmhand/farmhand/membership"
	"github.com/farmhand/farmhand/testbed/testutil"
	"github.com/jonboulle/clockwork"
)

// serveClock serves b with a fake clock timing the blocking queries.
func serveClock(t *testing.T, b localapi.Backend, clk clockwork.Clock) string {
	t.Helper()
	cfg := localapi.DefaultConfig()
	cfg.Backend, cfg.Clock = b, clk
	sock, _, _ := serveConfig(t, cfg)
	return sock
}

func indexOf(t *testing.T, h http.Header) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(h.Get(localapi.IndexHeader), 10, 64)
	if err != nil {
		t.Fatalf("%s header %q: %v", localapi.IndexHeader, h.Get(localapi.IndexHeader), err)
	}
	return n
}

// TestBlockingQueryReturnsOnChange checks Consul's convention: an answer
// carries the index; a query with it waits until the view changes and
// then answers with the new view and a larger index.
func TestBlockingQueryReturnsOnChange(t *testing.T) {
	b := testBackend()
	sock := serveClock(t, b, clockwork.NewFakeClock())
	code, h, _ := call(t, sock, "GET", "/v1/members")
	idx := indexOf(t, h)
	if code != 200 || idx == 0 {
		t.Fatalf("plain read: %d, index %d", code, idx)
	}
	if _, h, _ := call(t, sock, "GET", "/v1/status"); indexOf(t, h) != idx {
		t.Errorf("/v1/status carries index %s, want %d", h.Get(localapi.IndexHeader), idx)
	}

	got := make(chan []byte, 1)
	hdr := make(chan http.Header, 1)
	go func() {
		_, h, body := call(t, sock, "GET", "/v1/members?role=worker&index="+strconv.FormatUint(idx, 10)+"&wait=1m")
		hdr <- h
		got <- body
	}()
	waitHeld(t, b)
	select {
	case <-got:
		t.Fatal("the blocking query answered before any change")
	default:
	}
	b.SetMembers(member("i-9", membership.StatusAlive, "role=worker"))
	select {
	case body := <-got:
		if next := indexOf(t, <-hdr); next <= idx {
			t.Errorf("index after the change = %d, want > %d", next, idx)
		}
		if ms := decode[localapi.MembersResponse](t, body).Members; len(ms) != 1 || ms[0].Name != "i-9" {
			t.Errorf("members after the change = %v, want [i-9] (filter applied)", names(ms))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the blocking query did not answer after the change")
	}
}

// TestBlockingQueryTimesOut checks that the wait ends the query with the
// unchanged view and index, on the server's clock.
func TestBlockingQueryTimesOut(t *testing.T) {
	b := testBackend()
	clk := clockwork.NewFakeClock()
	sock := serveClock(t, b, clk)
	_, h, _ := call(t, sock, "GET", "/v1/members")
	idx := indexOf(t, h)
	codes := make(chan http.Header, 1)
	go func() {
		_, h, _ := call(t, sock, "GET", "/v1/members?index="+strconv.FormatUint(idx, 10)+"&wait=30s")
		codes <- h
	}()
	waitHeld(t, b)
	// The wait plus at most a sixteenth of jitter.
	testutil.Run(t, 5*time.Second, func(r *testutil.R) {
		clk.Advance(30*time.Second/16 + 30*time.Second)
		select {
		case h := <-codes:
			if got := indexOf(t, h); got != idx {
				t.Errorf("index after a timed-out wait = %d, want %d", got, idx)
			}
		default:
			r.Fatalf("still waiting")
		}
	})
}

// TestBlockingQueryBadParams checks one clear line per bad parameter.
func TestBlockingQueryBadParams(t *testing.T) {
	sock := serveClock(t, testBackend(), clockwork.NewFakeClock())
	for target, want := range map[string]string{
		"/v1/members?index=x":          `query parameter index="x": want the whole number from the X-Farmhand-Index header of an earlier answer`,
		"/v1/members?index=1&wait=-1s": `query parameter wait="-1s": want a positive duration such as 30s (at most 10m0s)`,
		"/v1/members?index=1&index=2":  `query parameter index: given 2 times, want at most once`,
	} {
		code, _, body := call(t, sock, "GET", target)
		if e := decode[localapi.ErrorResponse](t, body); code != 400 || e.Error != want {
			t.Errorf("%s: %d %q, want 400 %q", target, code, e.Error, want)
		}
	}
}

// TestBlockingQueryEndsAtShutdown checks that a watcher does not hold up
// the graceful shutdown: its query answers at once, and Run returns well
// before the shutdown timeout.
func TestBlockingQueryEndsAtShutdown(t *testing.T) {
	b := testBackend()
	cfg := localapi.DefaultConfig()
	cfg.Backend, cfg.ShutdownTimeout = b, time.Minute
	sock, cancel, done := serveConfig(t, cfg)
	codes := inflight(t, sock, "GET", "/v1/members?index="+strconv.FormatUint(b.Index(), 10)+"&wait=10m")
	waitHeld(t, b)
	cancel()
	select {
	case code := <-codes:
		if code != http.StatusOK {
			t.Errorf("the blocking query answered %d at shutdown, want 200", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the blocking query still waits after the shutdown began")
	}
	if err := waitRun(t, done); err != nil {
		t.Fatalf("Run = %v", err)
	}
}
