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

	"github.com/farmhand/farmhand/bootstrap"
	"github.com/farmhand/farmhand/membership"
)

// metricsServer serves Prometheus text on a loopback listener: memberlist's
// own metrics (through go-metrics), Go runtime metrics and farmhand's
// counters. It starts before memberlist, whose metrics go through
// go-metrics' global sink, and moves to a new address on reload.
type metricsServer struct {
	registry *bootstrap.Registry
	logger   hclog.Logger
	// cluster is nil until attach: a scrape while memberlist starts sees
	// no member counts.
	cluster atomic.Pointer[membership.Cluster]

	mu   sync.Mutex
	prom *prometheus.Registry // made on first serve
	srv  *http.Server         // nil when not serving
	done chan struct{}
}

// attach gives the collector the cluster to count.
func (m *metricsServer) attach(c *membership.Cluster) { m.cluster.Store(c) }

// listenMetrics opens the listener for addr, which must be loopback.
func listenMetrics(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("metrics_addr %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("metrics_addr %q: must be a loopback address such as 127.0.0.1:9946 (metrics are not for the network)", addr)
	}
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
	return nil
}

// initLocked makes the Prometheus registry and installs the go-metrics
// global sink that memberlist reports through.
func (m *metricsServer) initLocked() error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(&agentCollector{m: m})
	sink, err := promsink.NewPrometheusSinkFrom(promsink.PrometheusOpts{Registerer: reg, Expiration: time.Minute})
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	mc := gometrics.DefaultConfig("farmhand")
	mc.EnableHostname = false
	mc.EnableRuntimeMetrics = false
	if _, err := gometrics.NewGlobal(mc, sink); err != nil {
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

// agentCollector exposes farmhand's own counters at scrape time.
type agentCollector struct{ m *metricsServer }

var (
	descS3Requests = prometheus.NewDesc("farmhand_s3_requests_total", "S3 requests made by the registry, by kind, retries included.", []string{"kind"}, nil)
	descMembers    = prometheus.NewDesc("farmhand_members", "Members in this node's view, by status.", []string{"status"}, nil)
	descJoins      = prometheus.NewDesc("farmhand_joins_total", "Join attempts (boot, snapshot, isolation rejoin) that reached at least one member.", nil, nil)
	descReconnects = prometheus.NewDesc("farmhand_reconnects_total", "Successful reconnects to members seen dead (partition healing).", nil, nil)
	descSkipped    = prometheus.NewDesc("farmhand_registry_skipped_total", "Registry objects skipped as garbage, by reason.", []string{"reason"}, nil)
)

func (c *agentCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descS3Requests
	ch <- descMembers
	ch <- descJoins
	ch <- descReconnects
	ch <- descSkipped
}

func (c *agentCollector) Collect(ch chan<- prometheus.Metric) {
	rs := c.m.registry.Stats()
	for kind, n := range s3Counts(rs) {
		ch <- prometheus.MustNewConstMetric(descS3Requests, prometheus.CounterValue, float64(n), kind)
	}
	for reason, n := range rs.Skipped {
		ch <- prometheus.MustNewConstMetric(descSkipped, prometheus.CounterValue, float64(n), string(reason))
	}
	cluster := c.m.cluster.Load()
	if cluster == nil { // scraped while memberlist is starting
		return
	}
	ms := cluster.Stats()
	for s, n := range statusCounts(ms) {
		ch <- prometheus.MustNewConstMetric(descMembers, prometheus.GaugeValue, float64(n), s)
	}
	ch <- prometheus.MustNewConstMetric(descJoins, prometheus.CounterValue, float64(ms.Joins))
	ch <- prometheus.MustNewConstMetric(descReconnects, prometheus.CounterValue, float64(ms.Reconnects))
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
