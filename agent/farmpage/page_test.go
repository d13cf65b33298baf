package farmpage

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/farmhand/farmhand/agent/coordinator"
	"github.com/farmhand/farmhand/membership"
)

var now = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

func member(name string, st membership.Status, role, az string, for_ time.Duration) membership.Member {
	return membership.Member{Name: name, Addr: "10.0.0.1", Port: 7946, Status: st, Since: now.Add(-for_), Tags: map[string]string{"role": role, "az": az}}
}

func sample() *Data {
	return &Data{
		Now: now, Refresh: 2 * time.Second, Cluster: "prod",
		Self: Self{Name: "i-self", Addr: "10.0.0.9", State: "alive", Version: "v1", Role: "coordinator", AZ: "a",
			StartedAt: now.Add(-time.Hour), LastChange: now.Add(-time.Minute), S3: map[string]int64{"put": 1}, Problems: []string{"render hadoop: reload failed"}},
		Members: []membership.Member{
			member("i-w2", membership.StatusDead, "worker", "us-east-1b", 30*time.Second),
			member("i-w1", membership.StatusAlive, "worker", "us-east-1a", time.Hour),
			member("i-m1", membership.StatusSuspect, "master", "us-east-1a", 5*time.Second),
			member("i-<script>", membership.StatusLeft, "worker", "us-east-1a", time.Minute),
		},
		Coordinator: &Coordinator{Source: "this agent (leader)", Leader: "i-self", Epoch: 3, Here: true,
			Groups: []coordinator.GroupStatus{{Name: "workers", Frozen: true, FreezeReason: "3 of 4 unhealthy"}},
			Decisions: []coordinator.Decision{
				{Time: now.Add(-time.Hour), Epoch: 3, Action: coordinator.ActionLease, Code: coordinator.CodeAcquired, Reason: "lease acquired"},
				{Time: now.Add(-time.Second), Epoch: 3, Action: coordinator.ActionFreeze, Code: coordinator.CodeFrozen, Group: "workers", Reason: "3 of 4 unhealthy"},
			}},
	}
}

// TestPageShowsTheFarm renders a farm and checks each part of the page:
// members by role then AZ with status and age, the coordinator with its
// freeze reason, the decisions newest first, the agent's health, and the
// self-refresh; and that it loads nothing and runs no script.
func TestPageShowsTheFarm(t *testing.T) {
	body, err := Render(sample())
	if err != nil {
		t.Fatal(err)
	}
	html := string(body)
	for _, want := range []string{
		`<meta http-equiv="refresh" content="2">`,
		`<tr class="member" id="member-i-w2" data-status="dead"><td>i-w2</td><td>10.0.0.1</td><td><span class="status dead">dead</span></td><td>30s</td></tr>`,
		`<tr class="member" id="member-i-w1" data-status="alive">`,
		`<tr class="member" id="member-i-m1" data-status="suspect">`,
		`<span class="frozen">FROZEN</span>: 3 of 4 unhealthy`,
		`i-self (this agent), epoch 3`,
		`render hadoop: reload failed`,
		`1 alive 0 draining 1 suspect 1 dead 1 left`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %q:\n%s", want, html)
		}
	}
	// Roles sorted, then AZs: master before worker, us-east-1a before 1b.
	if i, j := strings.Index(html, `id="role-master"`), strings.Index(html, `id="role-worker"`); i < 0 || j < i {
		t.Errorf("roles out of order (master at %d, worker at %d)", i, j)
	}
	if i, j := strings.Index(html, "member-i-w1"), strings.Index(html, "member-i-w2"); j < i {
		t.Errorf("AZs out of order in role worker")
	}
	if i, j := strings.Index(html, `data-action="freeze"`), strings.Index(html, `data-action="lease"`); i < 0 || j < 0 || i > j {
		t.Errorf("decisions missing or not newest first (freeze at %d, lease at %d)", i, j)
	}
	if strings.Contains(html, "<script") {
		t.Errorf("the page has a script (or an unescaped member name)")
	}
	if regexp.MustCompile(`(?i)(src|href)=|@import|url\(`).MatchString(html) {
		t.Errorf("the page loads something: %s", regexp.MustCompile(`(?i)(src|href)=\S+`).FindString(html))
	}
}

func TestPageWithoutCoordinatorOrMembers(t *testing.T) {
	d := sample()
	d.Members, d.Coordinator = nil, nil
	body, err := Render(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"No members in this agent's view yet.", "No coordinator known"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// TestHandlerServesOnlyWhenEnabled checks the switch (ui), the read-only
// methods, a failing read, and the headers that forbid remote content.
func TestHandlerServesOnlyWhenEnabled(t *testing.T) {
	var on, failing atomic.Bool
	h := Handler(on.Load, func(context.Context) (*Data, error) {
		if failing.Load() {
			return nil, errors.New("agent stopping")
		}
		return sample(), nil
	}, hclog.NewNullLogger())
	srv := httptest.NewServer(h)
	defer srv.Close()
	get := func(method, path string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	if resp, body := get("GET", "/"); resp.StatusCode != 404 || !strings.Contains(body, "ui = true") {
		t.Errorf("ui off: %d %q, want 404 naming ui", resp.StatusCode, body)
	}
	on.Store(true)
	resp, body := get("GET", "/")
	if resp.StatusCode != 200 || !strings.Contains(body, "member-i-w1") {
		t.Fatalf("ui on: %d", resp.StatusCode)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
	if resp, _ := get("POST", "/"); resp.StatusCode != 405 {
		t.Errorf("POST: %d, want 405", resp.StatusCode)
	}
	if resp, _ := get("GET", "/other"); resp.StatusCode != 404 {
		t.Errorf("GET /other: %d, want 404", resp.StatusCode)
	}
	failing.Store(true)
	if resp, body := get("GET", "/"); resp.StatusCode != 503 || !strings.Contains(body, "agent stopping") {
		t.Errorf("failing read: %d %q", resp.StatusCode, body)
	}
}
