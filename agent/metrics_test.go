package agent

import (
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/farmhand/farmhand/agent/config"
	"github.com/farmhand/farmhand/testbed/testutil"
)

// farmhandMetrics are the names an operator's dashboards rely on; every
// one must be exported once the agent has done the things they count.
var farmhandMetrics = []string{
	"farmhand_members", "farmhand_view_index", "farmhand_joins_total", "farmhand_reconnects_total",
	"farmhand_view_events_dropped_total",
	"farmhand_registry_requests_total", "farmhand_registry_errors_total", "farmhand_registry_skipped_total",
	"farmhand_coordinator_leader", "farmhand_coordinator_epoch", "farmhand_coordinator_decisions_total",
	"farmhand_coordinator_lease_renewals_total", "farmhand_coordinator_lease_renewal_failures_total",
	"farmhand_coordinator_frozen_groups",
	"farmhand_render_writes_total", "farmhand_render_reloads_total", "farmhand_render_reload_failures_total",
	"farmhand_drain_notices_total",
	"farmhand_handler_runs_total", "farmhand_handler_duration_seconds",
}

var (
	snakeName = regexp.MustCompile(`^[a-z][a-z0-9_]*[a-z0-9]$`)
	// otherUnits are units Prometheus wants in base units instead.
	otherUnits = regexp.MustCompile(`_(ms|milliseconds|microseconds|nanoseconds|minutes|hours|kilobytes|megabytes|percent)(_|$)`)
)

// conventionProblems lists how a metric family breaks Prometheus's
// naming conventions (https://prometheus.io/docs/practices/naming/).
func conventionProblems(name string, typ dto.MetricType) []string {
	var out []string
	if !snakeName.MatchString(name) {
		out = append(out, "not snake_case")
	}
	if !strings.HasPrefix(name, "farmhand_") && !strings.HasPrefix(name, "go_") && !strings.HasPrefix(name, "process_") {
		out = append(out, "no farmhand_ prefix")
	}
	if counter := typ == dto.MetricType_COUNTER; counter != strings.HasSuffix(name, "_total") {
		out = append(out, "a counter must end in _total, and only a counter")
	}
	if otherUnits.MatchString(name) && strings.HasPrefix(name, "farmhand_") { // go_ and process_ are client_golang's own
		out = append(out, "not in base units (seconds, bytes, ratios)")
	}
	if (typ == dto.MetricType_HISTOGRAM || typ == dto.MetricType_SUMMARY) && strings.HasPrefix(name, "farmhand_") &&
		!strings.HasSuffix(name, "_seconds") && !strings.HasSuffix(name, "_bytes") && !strings.Contains(name, "_queue_") {
		out = append(out, "a distribution names its unit (_seconds or _bytes)")
	}
	return out
}

func TestConventionProblemsCatchesBadNames(t *testing.T) {
	for name, typ := range map[string]dto.MetricType{
		"farmhand_s3_requests":               dto.MetricType_COUNTER,
		"farmhand_members_total":             dto.MetricType_GAUGE,
		"memberlist_msg_alive_total":         dto.MetricType_COUNTER,
		"farmhand_memberlist_probeNode":      dto.MetricType_SUMMARY,
		"farmhand_handler_duration_ms":       dto.MetricType_HISTOGRAM,
		"farmhand_memberlist_gossip":         dto.MetricType_SUMMARY,
		"farmhand_reload_minutes_total":      dto.MetricType_COUNTER,
		"farmhand_coordinator_leader_Status": dto.MetricType_GAUGE,
	} {
		if len(conventionProblems(name, typ)) == 0 {
			t.Errorf("%s (%s) passes the naming check", name, typ)
		}
	}
	if p := conventionProblems("farmhand_memberlist_probe_node_seconds", dto.MetricType_SUMMARY); len(p) != 0 {
		t.Errorf("a good name fails: %v", p)
	}
}

// TestMetricsFollowPrometheusConventions runs a coordinator agent with a
// render block and an event handler, with metrics on every interface (a
// central Prometheus), joins a second agent, then parses the scrape with
// Prometheus's own text parser: every family follows the naming
// conventions, every documented farmhand metric is there, and the counts
// say what happened. Its handler's output is the run the docs show.
func TestMetricsFollowPrometheusConventions(t *testing.T) {
	setAWSEnv(t)
	f := newFarm(t)
	dir := t.TempDir()
	cfg := f.config(nodeName(0), "c1")
	withCoordinator(cfg, startEC2(t))
	port := testutil.FreePort(t, net.IPv4(127, 0, 0, 1))
	cfg.MetricsAddr = net.JoinHostPort("0.0.0.0", strconv.Itoa(port))
	rb := config.DefaultRenderConfig("hosts")
	rb.Template, rb.Destination, rb.WaitMin, rb.WaitMax, rb.Stable = "etc-hosts", filepath.Join(dir, "hosts"), 0, 0, 0
	rb.ReloadCommand = "true"
	cfg.Render = []config.RenderConfig{rb}
	hb := config.DefaultHandlerConfig("log")
	hb.Events = []string{EventMemberJoin, EventCoordinatorDecision}
	hb.Command = `{ echo "== $FARMHAND_EVENT on $FARMHAND_SELF_NAME ($FARMHAND_SELF_ROLE)"; cat; } >> ` + filepath.Join(dir, "handler.log")
	cfg.Handlers = []config.HandlerConfig{hb}
	var logs testutil.Buffer
	a0 := f.startWith(cfg, Options{Logger: hclog.New(&hclog.LoggerOptions{Level: hclog.Warn,
		Output: io.MultiWriter(&logs, testutil.LogWriter(t))})})
	a1 := f.start(f.config(nodeName(1), "c1"))
	waitAlive(t, 2, a0, a1)
	a0.metrics.events.DrainNotice("spot-interruption") // the drain watcher's call

	var fams map[string]*dto.MetricFamily
	testutil.Run(t, 30*time.Second, func(r *testutil.R) {
		resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/metrics")
		if err != nil {
			r.Fatalf("scrape: %v", err)
		}
		defer resp.Body.Close()
		p := expfmt.NewTextParser(model.LegacyValidation)
		if fams, err = p.TextToMetricFamilies(resp.Body); err != nil {
			r.Fatalf("the scrape does not parse as Prometheus text: %v", err)
		}
		if v := value(fams, "farmhand_coordinator_leader"); v != 1 {
			r.Fatalf("coordinator_leader = %v, want 1", v)
		}
		if v := value(fams, "farmhand_handler_runs_total", "handler", "log", "event", EventMemberJoin); v < 1 {
			r.Fatalf("handler runs for member-join = %v", v)
		}
		if v := value(fams, "farmhand_render_writes_total", "target", "hosts"); v < 1 {
			r.Fatalf("render writes = %v", v)
		}
	})
	for name, fam := range fams {
		if p := conventionProblems(name, fam.GetType()); len(p) > 0 {
			t.Errorf("%s (%s): %s", name, fam.GetType(), strings.Join(p, "; "))
		}
	}
	for _, name := range farmhandMetrics {
		// No S3 error and no garbage in the registry in this run.
		absent := name == "farmhand_registry_errors_total" || name == "farmhand_registry_skipped_total"
		if _, ok := fams[name]; !ok && !absent {
			t.Errorf("the scrape lacks %s", name)
		}
	}
	if len(fams) < 40 || fams["farmhand_memberlist_msg_alive_total"] == nil {
		t.Errorf("only %d families, or no memberlist counters: the runtime and memberlist metrics are missing", len(fams))
	}
	for _, c := range []struct {
		name   string
		labels []string
		min    float64
	}{
		{"farmhand_members", []string{"status", "alive"}, 2},
		{"farmhand_coordinator_decisions_total", []string{"action", "lease", "code", "acquired"}, 1},
		{"farmhand_coordinator_epoch", nil, 1},
		{"farmhand_registry_requests_total", []string{"verb", "put"}, 1},
		{"farmhand_render_reloads_total", []string{"target", "hosts"}, 1},
		{"farmhand_drain_notices_total", []string{"kind", "spot-interruption"}, 1},
	} {
		if v := value(fams, c.name, c.labels...); v < c.min {
			t.Errorf("%s%v = %v, want at least %v", c.name, c.labels, v, c.min)
		}
	}
	if !strings.Contains(logs.String(), "metrics are served beyond this host") {
		t.Errorf("no warning for metrics on 0.0.0.0 in the log:\n%s", logs.String())
	}
	out, err := os.ReadFile(filepath.Join(dir, "handler.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("handler run:\n%s", out)
	for _, want := range []string{"== member-join on " + nodeName(0) + " (worker)", nodeName(1) + "\t" + a1.cfg.Identity.PrivateIP + "\tworker\t",
		"== coordinator-decision on " + nodeName(0)} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the handler's log lacks %q:\n%s", want, out)
		}
	}
}

// value is the value of the sample of family name with the given label
// pairs (a counter, gauge or untyped value; a histogram's count); -1 when
// there is none.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	fam, ok := fams[name]
	if !ok {
		return -1
	}
	for _, m := range fam.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		match := true
		for i := 0; i+1 < len(labels); i += 2 {
			match = match && have[labels[i]] == labels[i+1]
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		case m.Untyped != nil:
			return m.Untyped.GetValue()
		}
	}
	return -1
}
