package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/hashicorp/go-hclog"
	gometrics "github.com/hashicorp/go-metrics"
	promsink "github.com/hashicorp/go-metrics/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metricsServer serves Prometheus text on a loopback listener: memberlist's
// own metrics (through go-metrics), Go runtime metrics and farmhand's
// counters.
type metricsServer struct {
	srv  *http.Server
	done chan struct{}
}

func startMetrics(addr string, a *Agent, logger hclog.Logger) (*metricsServer, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("metrics_addr %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("metrics_addr %q: must be a loopback address such as 127.0.0.1:9946 (metrics are not for the network)", addr)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(&agentCollector{a: a})

	// memberlist reports through go-metrics' global sink.
	sink, err := promsink.NewPrometheusSinkFrom(promsink.PrometheusOpts{Registerer: reg, Expiration: time.Minute})
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	mc := gometrics.DefaultConfig("farmhand")
	mc.EnableHostname = false
	mc.EnableRuntimeMetrics = false
	if _, err := gometrics.NewGlobal(mc, sink); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics_addr %s: cannot listen: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: logger.StandardLogger(nil)}))
	m := &metricsServer{
		srv:  &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second},
		done: make(chan struct{}),
	}
	go func() {
		defer close(m.done)
		if err := m.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics listener stopped", "error", err)
		}
	}()
	logger.Info("serving metrics", "addr", "http://"+ln.Addr().String()+"/metrics")
	return m, nil
}

// Close stops the listener; safe to call twice.
func (m *metricsServer) Close(ctx context.Context) error {
	err := m.srv.Shutdown(ctx)
	<-m.done
	return err
}

// agentCollector exposes farmhand's own counters at scrape time.
type agentCollector struct{ a *Agent }

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
	a := c.a
	if a.cluster == nil { // scraped while memberlist is starting
		return
	}
	rs, ms := a.registry.Stats(), a.cluster.Stats()
	for kind, n := range s3Counts(rs) {
		ch <- prometheus.MustNewConstMetric(descS3Requests, prometheus.CounterValue, float64(n), kind)
	}
	for reason, n := range rs.Skipped {
		ch <- prometheus.MustNewConstMetric(descSkipped, prometheus.CounterValue, float64(n), string(reason))
	}
	for s, n := range statusCounts(ms) {
		ch <- prometheus.MustNewConstMetric(descMembers, prometheus.GaugeValue, float64(n), s)
	}
	ch <- prometheus.MustNewConstMetric(descJoins, prometheus.CounterValue, float64(ms.Joins))
	ch <- prometheus.MustNewConstMetric(descReconnects, prometheus.CounterValue, float64(ms.Reconnects))
}
