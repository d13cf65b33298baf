package agent

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/farmhand/farmhand/testbed/testutil"
)

// The metrics endpoint is up before memberlist (its sink must be), so a
// scrape can come while the agent is still starting, and a reload (SIGHUP)
// can come before it is up. Under the race detector (make test-race) this
// guards the two races that reading found: the collector read the cluster
// while start wrote it (now an atomic pointer set by attach), and a reload
// read the logger while start replaced it (start no longer does). The
// first one's window, between the metrics listener and memberlist, is
// short: a scrape lands in it only sometimes.
func TestScrapesAndReloadsDuringStart(t *testing.T) {
	f := newFarm(t)
	cfg := f.config(nodeName(0), "c1")
	ip := net.ParseIP(cfg.Identity.PrivateIP)
	cfg.MetricsAddr = net.JoinHostPort(ip.String(), strconv.Itoa(testutil.FreePort(t, ip)))
	a := f.run(cfg, Options{})

	hc := &http.Client{Timeout: 2 * time.Second}
	scrapes, reloads := 0, 0
	for ready := false; !ready; {
		select {
		case <-a.Ready():
			ready = true
		case <-a.exited:
			t.Fatalf("the agent exited: %v", a.err)
		default:
		}
		if resp, err := hc.Get("http://" + cfg.MetricsAddr + "/metrics"); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			scrapes++
		}
		next := cfg.Clone()
		next.LogLevel = "debug"
		if _, err := a.Reload(next); err != nil && !errors.Is(err, errStarting) {
			t.Fatalf("reload during start: %v", err)
		}
		reloads++
	}
	// And once it is up.
	resp, err := hc.Get("http://" + cfg.MetricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "farmhand_members") {
		t.Errorf("metrics after start lack farmhand_members:\n%s", body)
	}
	t.Logf("%d scrapes and %d reloads while starting", scrapes, reloads)
}
