package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	gometrics "github.com/hashicorp/go-metrics"
	promsink "github.com/hashicorp/go-metrics/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/farmhand/farmhand/agent/config"
	"github.com/farmhand/farmhand/bootstrap"
	"github.com/farmhand/farmhand/membership"
)

// metricsServer serves Prometheus text on metrics_addr: memberlist's
// own metrics (through go-metrics), Go runtime metrics and farmhand's
// counters. It starts before memberlist, whose metrics go through
// go-metrics' global sink, and moves to a new address on reload.
type metricsServer struct {
	registry *bootstrap.Registry
	logger   hclog.Logger
	// events counts decisions, drain notices and handler runs as they
	// happen (the parts call it).
	events *eventMetrics
	// render is the render part (nil in tests without one).
	render *renderRunner
	// cluster is nil until attach: a scrape while memberlist starts sees
	// no member counts.
	cluster atomic.Pointer[membership.Cluster]
	// page is the farm page (ui = true), served at "/" once set (page.go).
	page atomic.Pointer[http.Handler]
	// coord is nil until the coordinator part exists.
	coord atomic.Pointer[coordinatorRunner]

	mu   sync.Mutex
	prom *prometheus.Registry // made on first serve
	srv  *http.Server         // nil when not serving
	done chan struct{}
}

// newMetricsServer returns a metrics server, not serving yet, that counts
// reg's requests and render's targets.
func newMetricsServer(reg *bootstrap.Registry, render *renderRunner, logger hclog.Logger) *metricsServer {
	return &metricsServer{registry: reg, render: render, logger: logger, events: newEventMetrics()}
}

// attach gives the collector the cluster to count.
func (m *metricsServer) attach(c *membership.Cluster) { m.cluster.Store(c) }

// listenMetrics opens the listener for addr. A non-loopback address is
// allowed, for a central Prometheus, and warned about in serve.
func listenMetrics(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics_addr %s: cannot listen: %w", addr, err)
	}
	return ln, nil
}

// serve serves metrics on ln, stopping the previous listener (if any),
// which has at most ctx to finish its scrapes.
func (m *metricsServer) serve(ctx context.Context, ln net.Listener) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.prom == nil {
		if err := m.initLocked(); err != nil {
			ln.Close()
			return err
		}
	}
	if err := m.stopLocked(ctx); err != nil {
		m.logger.Warn("the previous metrics listener did not stop cleanly", "error", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.prom, promhttp.HandlerOpts{ErrorLog: m.logger.StandardLogger(nil)}))
	mux.HandleFunc("/", m.servePage)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.logger.Error("metrics listener stopped", "error", err)
		}
	}()
	m.srv, m.done = srv, done
	m.logger.Info("serving metrics", "addr", "http://"+ln.Addr().String()+"/metrics")
	if !config.IsLoopbackAddr(ln.Addr().String()) {
		m.logger.Warn("metrics are served beyond this host: anyone who reaches the port reads member names, addresses and counts; firewall it to the Prometheus servers",
			"addr", ln.Addr().String())
	}
	return nil
}

// initLocked makes the Prometheus registry and installs the go-metrics
// global sink that memberlist reports through.
func (m *metricsServer) initLocked() error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(&agentCollector{m: m})
	reg.MustRegister(m.events.collectors()...)
	sink, err := promsink.NewPrometheusSinkFrom(promsink.PrometheusOpts{Registerer: reg, Expiration: time.Minute})
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	mc := gometrics.DefaultConfig("farmhand")
	mc.EnableHostname = false
	mc.EnableRuntimeMetrics = false
	if _, err := gometrics.NewGlobal(mc, conventionSink{next: sink}); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	m.prom = reg
	return nil
}

// stop stops serving; safe when not serving and safe twice.
func (m *metricsServer) stop(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stopLocked(ctx)
}

func (m *metricsServer) stopLocked(ctx context.Context) error {
	if m.srv == nil {
		return nil
	}
	srv, done := m.srv, m.done
	m.srv, m.done = nil, nil
	err := srv.Shutdown(ctx)
	if err != nil {
		srv.Close()
	}
	<-done
	return err
}

// agentCollector exposes, at scrape time, what the parts already count:
// the registry's requests and errors, the member view, the coordinator's
// lease, the render blocks. The counters of things that happen (decisions,
// drain notices, handler runs) are the events collector's (events.go).
type agentCollector struct{ m *metricsServer }

var (
	descRequests     = prometheus.NewDesc("farmhand_registry_requests_total", "S3 requests made by the registry, by verb (put, list, get, delete), retries included.", []string{"verb"}, nil)
	descErrors       = prometheus.NewDesc("farmhand_registry_errors_total", "Failed S3 requests of the registry, by verb and error class (throttled, unreachable, access_denied, ...).", []string{"verb", "class"}, nil)
	descSkipped      = prometheus.NewDesc("farmhand_registry_skipped_total", "Registry objects skipped as garbage, by reason.", []string{"reason"}, nil)
	descMembers      = prometheus.NewDesc("farmhand_members", "Members in this node's view, by status.", []string{"status"}, nil)
	descViewIndex    = prometheus.NewDesc("farmhand_view_index", "The member view's index (blocking queries): it grows by one with every change.", nil, nil)
	descJoins        = prometheus.NewDesc("farmhand_joins_total", "Join attempts (boot, snapshot, isolation rejoin) that reached at least one member.", nil, nil)
	descReconnects   = prometheus.NewDesc("farmhand_reconnects_total", "Successful reconnects to members seen dead (partition healing).", nil, nil)
	descEventsDrop   = prometheus.NewDesc("farmhand_view_events_dropped_total", "Member view events dropped because a subscriber (render, coordinator, handlers) was behind; it re-reads the view.", nil, nil)
	descLeader       = prometheus.NewDesc("farmhand_coordinator_leader", "1 while this agent's coordinator holds the lease and may act, else 0; absent when the coordinator is off.", nil, nil)
	descEpoch        = prometheus.NewDesc("farmhand_coordinator_epoch", "The lease epoch this coordinator last saw.", nil, nil)
	descRenewals     = prometheus.NewDesc("farmhand_coordinator_lease_renewals_total", "Lease renewals written by this coordinator while leader.", nil, nil)
	descRenewFails   = prometheus.NewDesc("farmhand_coordinator_lease_renewal_failures_total", "Lease renewals that failed (retried on a later tick, or leadership given up).", nil, nil)
	descFrozen       = prometheus.NewDesc("farmhand_coordinator_frozen_groups", "Groups whose replacements are frozen now.", nil, nil)
	descRenderWrites = prometheus.NewDesc("farmhand_render_writes_total", "Times a render target's file changed on disk, by target (render block).", []string{"target"}, nil)
	descReloads      = prometheus.NewDesc("farmhand_render_reloads_total", "Reload command runs, by target.", []string{"target"}, nil)
	descReloadFails  = prometheus.NewDesc("farmhand_render_reload_failures_total", "Reload command runs that failed or timed out, by target.", []string{"target"}, nil)
)

func (c *agentCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRequests, descErrors, descSkipped, descMembers, descViewIndex, descJoins,
		descReconnects, descEventsDrop, descLeader, descEpoch, descRenewals, descRenewFails, descFrozen,
		descRenderWrites, descReloads, descReloadFails} {
		ch <- d
	}
}

func (c *agentCollector) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	rs := c.m.registry.Stats()
	for verb, n := range s3Counts(rs) {
		counter(descRequests, float64(n), verb)
	}
	for k, n := range rs.Errors {
		counter(descErrors, float64(n), k.Kind, k.Class)
	}
	for reason, n := range rs.Skipped {
		counter(descSkipped, float64(n), string(reason))
	}
	if r := c.m.render; r != nil {
		sts, _ := r.status()
		for _, st := range sts {
			counter(descRenderWrites, float64(st.Writes), st.Name)
			counter(descReloads, float64(st.ReloadRuns), st.Name)
			counter(descReloadFails, float64(st.ReloadFailures), st.Name)
		}
	}
	if cr := c.m.coord.Load(); cr != nil {
		if co, ok := cr.current(); ok {
			st := co.Status()
			gauge(descLeader, boolFloat(st.Leader))
			gauge(descEpoch, float64(st.Epoch))
			ok, failed := co.LeaseRenewals()
			counter(descRenewals, float64(ok))
			counter(descRenewFails, float64(failed))
			frozen := 0
			for _, g := range st.Groups {
				if g.Frozen {
					frozen++
				}
			}
			gauge(descFrozen, float64(frozen))
		}
	}
	cluster := c.m.cluster.Load()
	if cluster == nil { // scraped while memberlist is starting
		return
	}
	ms := cluster.Stats()
	for s, n := range statusCounts(ms) {
		gauge(descMembers, float64(n), s)
	}
	gauge(descViewIndex, float64(cluster.Index()))
	counter(descJoins, float64(ms.Joins))
	counter(descReconnects, float64(ms.Reconnects))
	counter(descEventsDrop, float64(ms.EventsDropped))
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// statusCounts is the view's member count by status, every status present.
func statusCounts(ms membership.Stats) map[string]int {
	return map[string]int{
		string(membership.StatusAlive):    ms.Alive,
		string(membership.StatusDraining): ms.Draining,
		string(membership.StatusSuspect):  ms.Suspect,
		string(membership.StatusDead):     ms.Dead,
		string(membership.StatusLeft):     ms.Left,
	}
}

// s3Counts is the registry's S3 requests by kind.
func s3Counts(rs bootstrap.RegistryStats) map[string]int64 {
	return map[string]int64{"put": rs.Put, "list": rs.List, "get": rs.Get, "delete": rs.Delete}
}
