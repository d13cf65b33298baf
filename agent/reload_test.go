package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/farmhand/farmhand/agent/client"
	"github.com/farmhand/farmhand/agent/config"
	"github.com/farmhand/farmhand/testbed/testutil"
)

// reloadable starts an agent whose Loader returns whatever next holds, with
// the coordinator on (against an EC2 emulator) so its block can be
// reloaded.
type reloadable struct {
	*testAgent
	mu   sync.Mutex
	next *config.Config
}

func startReloadable(t *testing.T, f *farm) *reloadable {
	t.Helper()
	setAWSEnv(t)
	cfg := f.config(nodeName(0), "c1")
	withCoordinator(cfg, startEC2(t))
	r := &reloadable{next: cfg.Clone()}
	r.testAgent = f.startWith(cfg, Options{Loader: func() (*config.Config, error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.next.Clone(), nil
	}})
	return r
}

// edit changes the configuration the next reload loads, and returns it.
func (r *reloadable) edit(change func(*config.Config)) *config.Config {
	r.mu.Lock()
	defer r.mu.Unlock()
	change(r.next)
	return r.next.Clone()
}

// Every live field is applied by a reload, and the answer names it. (Render
// blocks, the coordinator block, ec2 and metrics_addr used to be accepted
// and silently not applied: an operator who turned on dry_run stayed live.)
func TestReloadAppliesLiveFields(t *testing.T) {
	f := newFarm(t)
	a := startReloadable(t, f)
	ctx := context.Background()
	c := a.client()

	t.Run("coordinator.dry_run", func(t *testing.T) {
		if st, err := c.CoordinatorStatus(ctx); err != nil || st.DryRun {
			t.Fatalf("before: %+v, %v; want a live coordinator", st, err)
		}
		a.edit(func(c *config.Config) { c.Coordinator.DryRun = true })
		wantApplied(t, c, "coordinator.dry_run")
		if st, err := c.CoordinatorStatus(ctx); err != nil || !st.DryRun {
			t.Fatalf("after reloading dry_run = true: %+v, %v; want dry_run", st, err)
		}
	})

	t.Run("a coordinator group", func(t *testing.T) {
		a.edit(func(c *config.Config) { c.Coordinator.Groups[0].Max = 7 })
		wantApplied(t, c, `coordinator.group["worker"].max`)
		if st, err := c.CoordinatorStatus(ctx); err != nil || !st.DryRun || len(st.Groups) != 1 {
			t.Fatalf("after the group reload: %+v, %v", st, err)
		}
	})

	t.Run("role and tags", func(t *testing.T) {
		a.edit(func(c *config.Config) { c.Role = "master"; c.Tags = map[string]string{"rack": "r7"} })
		wantApplied(t, c, "role", "tags")
		ms, err := c.Members(ctx, client.Filter{Role: "master"})
		if err != nil || len(ms) != 1 || ms[0].Tags["rack"] != "r7" {
			t.Fatalf("members with role master: %+v, %v", ms, err)
		}
	})

	t.Run("a handler block", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "events")
		a.edit(func(c *config.Config) {
			h := config.DefaultHandlerConfig("log")
			h.Events, h.Command = []string{EventMemberUpdate}, `echo "$FARMHAND_EVENT $(cut -f1,4)" >> `+out
			c.Handlers = []config.HandlerConfig{h}
		})
		wantApplied(t, c, `handler["log"]`)
		a.edit(func(c *config.Config) { c.Tags = map[string]string{"rack": "r8"} })
		wantApplied(t, c, "tags")
		testutil.Run(t, 10*time.Second, func(r *testutil.R) {
			b, err := os.ReadFile(out)
			if err != nil || !strings.Contains(string(b), "member-update "+nodeName(0)+"\t") || !strings.Contains(string(b), "rack=r8") {
				r.Fatalf("the handler added by a reload did not run for the tag change: %q, %v", b, err)
			}
		})
	})

	t.Run("metrics_addr", func(t *testing.T) {
		ip := net.ParseIP(a.cfg.Identity.PrivateIP)
		addr1 := net.JoinHostPort(ip.String(), fmt.Sprint(testutil.FreePort(t, ip)))
		a.edit(func(c *config.Config) { c.MetricsAddr = addr1 })
		wantApplied(t, c, "metrics_addr")
		wantMetrics(t, addr1, true)
		addr2 := net.JoinHostPort(ip.String(), fmt.Sprint(testutil.FreePort(t, ip)))
		a.edit(func(c *config.Config) { c.MetricsAddr = addr2 })
		wantApplied(t, c, "metrics_addr")
		wantMetrics(t, addr2, true)
		wantMetrics(t, addr1, false)
	})

	t.Run("ui", func(t *testing.T) {
		ip := net.ParseIP(a.cfg.Identity.PrivateIP)
		addr := net.JoinHostPort(ip.String(), fmt.Sprint(testutil.FreePort(t, ip)))
		a.edit(func(c *config.Config) { c.MetricsAddr, c.UI = addr, true })
		wantApplied(t, c, "metrics_addr", "ui")
		if code, body := getPage(t, addr); code != 200 || !strings.Contains(body, `id="member-`+a.cfg.Identity.InstanceID+`" data-status="alive"`) {
			t.Fatalf("farm page with ui = true: %d, without this agent alive:\n%s", code, body)
		}
		wantMetrics(t, addr, true)
		a.edit(func(c *config.Config) { c.UI = false })
		wantApplied(t, c, "ui")
		if code, _ := getPage(t, addr); code != 404 {
			t.Fatalf("farm page after ui = false: %d, want 404", code)
		}
		wantMetrics(t, addr, true)
	})

	t.Run("a render block", func(t *testing.T) {
		dest := filepath.Join(t.TempDir(), "workers")
		a.edit(func(c *config.Config) {
			b := config.DefaultRenderConfig("workers")
			b.Template, b.Destination = "hadoop-workers", dest
			c.Render = []config.RenderConfig{b}
		})
		wantApplied(t, c, `render["workers"]`)
		testutil.Run(t, 10*time.Second, func(r *testutil.R) {
			if b, err := os.ReadFile(dest); err != nil || !strings.Contains(string(b), a.cfg.Identity.PrivateIP) {
				r.Fatalf("%s: %q, %v", dest, b, err)
			}
		})
	})

	t.Run("log_level and leave_timeout", func(t *testing.T) {
		a.edit(func(c *config.Config) { c.LogLevel = "debug"; c.LeaveTimeout = 4 * time.Second })
		wantApplied(t, c, "leave_timeout", "log_level")
	})

	t.Run("nothing changed", func(t *testing.T) {
		resp, err := c.Reload(ctx)
		if err != nil || len(resp.Applied) != 0 || !strings.Contains(resp.Message, "nothing changed") {
			t.Fatalf("reload of the same configuration: %+v, %v", resp, err)
		}
	})
}

// wantApplied reloads through the local API and wants exactly fields
// applied, and the answer to say so.
func wantApplied(t *testing.T, c *client.Client, fields ...string) {
	t.Helper()
	resp, err := c.Reload(context.Background())
	if err != nil {
		t.Fatalf("reload: %v", err)
	}
	if !slices.Equal(resp.Applied, fields) || !strings.Contains(resp.Message, "applied "+strings.Join(fields, ", ")) {
		t.Fatalf("reload answered %+v, want %q applied", resp, fields)
	}
}

// getPage GETs the farm page at addr.
func getPage(t *testing.T, addr string) (int, string) {
	t.Helper()
	hc := &http.Client{Timeout: 5 * time.Second}
	resp, err := hc.Get("http://" + addr + "/")
	if err != nil {
		t.Fatalf("farm page on %s: %v", addr, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// wantMetrics checks whether addr serves Prometheus metrics.
func wantMetrics(t *testing.T, addr string, serving bool) {
	t.Helper()
	hc := &http.Client{Timeout: 5 * time.Second}
	resp, err := hc.Get("http://" + addr + "/metrics")
	if err == nil {
		resp.Body.Close()
	}
	if got := err == nil && resp.StatusCode == 200; got != serving {
		t.Fatalf("metrics on %s: serving %v (%v), want %v", addr, got, err, serving)
	}
}

// A change that needs a restart refuses the whole reload: one line per
// such field says which and why, nothing else is applied, and the API
// answers 409.
func TestReloadRefusesRestartFields(t *testing.T) {
	f := newFarm(t)
	a := startReloadable(t, f)
	ctx := context.Background()
	a.edit(func(c *config.Config) {
		c.Role = "master" // live, but refused with the rest
		c.LogJSON = true
		c.Gossip.ReapTime = 2 * time.Hour
		c.Coordinator.DryRun = true
	})
	_, err := a.client().Reload(ctx)
	var apiErr *client.Error
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusConflict {
		t.Fatalf("reload = %v, want a 409 refusal", err)
	}
	for _, want := range []string{"log_json: changed from false to true; this needs a restart",
		"gossip.reap_time: changed from", "the running configuration was kept"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "role") || strings.Contains(err.Error(), "dry_run") {
		t.Errorf("refusal %q names a live field", err)
	}
	if ms, _ := a.client().Members(ctx, client.Filter{Role: "master"}); len(ms) != 0 {
		t.Errorf("a refused reload applied the role")
	}
	if st, _ := a.client().CoordinatorStatus(ctx); st.DryRun {
		t.Errorf("a refused reload applied dry_run")
	}
	if got := a.Agent.cfg.get(); got.Role != "worker" || got.LogJSON {
		t.Errorf("a refused reload replaced the running configuration: role %q, log_json %v", got.Role, got.LogJSON)
	}
}

// Concurrent reloads run one after the other: systemd hears RELOADING=1
// and READY=1 strictly in turn, and the keyring ends as the configuration
// that was applied last says. (Two reloads used to interleave.)
func TestConcurrentReloadsAreSerialized(t *testing.T) {
	sock, msgs := listenNotify(t)
	t.Setenv("NOTIFY_SOCKET", sock)
	f := newFarm(t)
	cfg := f.config(nodeName(0), "c1")
	cfg.Gossip.Insecure = false
	base := testGossipKey(0)
	cfg.Gossip.Keys = [][]byte{base}
	a := f.startWith(cfg, Options{Logger: hclog.NewNullLogger()})
	nextNotify(t, msgs, "READY=1", 10*time.Second)

	const n = 8
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			next := cfg.Clone()
			next.Gossip.Keys = [][]byte{testGossipKey(i + 1), base}
			next.Tags = map[string]string{"reload": fmt.Sprint(i)}
			if _, err := a.Reload(next); err != nil {
				t.Errorf("reload %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	var seq []string
	for len(seq) < 2*n {
		m := nextNotify(t, msgs, "", 5*time.Second)
		if m == "RELOADING=1" || m == "READY=1" {
			seq = append(seq, m)
		}
	}
	for i, m := range seq {
		if want := []string{"RELOADING=1", "READY=1"}[i%2]; m != want {
			t.Fatalf("notifications %q: reloads interleaved at %d", seq, i)
		}
	}
	running := a.Agent.cfg.get()
	if keys := a.cluster.Keys(); string(keys[0]) != string(running.Gossip.Keys[0]) {
		t.Errorf("primary key %x, but the running configuration's is %x", keys[0], running.Gossip.Keys[0])
	}
	if got := a.cluster.LocalMember().Tags["reload"]; got != running.Tags["reload"] {
		t.Errorf("gossip tag reload=%q, running configuration reload=%q", got, running.Tags["reload"])
	}
}

// testGossipKey is a 32-byte key made from i.
func testGossipKey(i int) []byte {
	k := make([]byte, 32)
	for j := range k {
		k[j] = byte(i*31 + j)
	}
	return k
}
