package agent

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/farmhand/farmhand/agent/coordinator"
)

// eventMetrics counts things as they happen: the coordinator's decisions,
// drain notices, event handler runs. The parts call its methods; the
// metrics server registers its collectors when it first serves, so the
// counts are kept (and exported from then on) even while metrics_addr is
// unset. All methods are safe for concurrent use and on a nil receiver.
type eventMetrics struct {
	decisions       *prometheus.CounterVec
	launched        prometheus.Counter
	terminated      prometheus.Counter
	freezes         *prometheus.CounterVec
	drainNotices    *prometheus.CounterVec
	handlerRuns     *prometheus.CounterVec
	handlerFailures *prometheus.CounterVec
	handlerSeconds  *prometheus.HistogramVec
}

func newEventMetrics() *eventMetrics {
	return &eventMetrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "farmhand_coordinator_decisions_total",
			Help: "Coordinator decisions recorded by this agent, by action (replace, skip, launch, freeze, lease, error, ...) and reason code."},
			[]string{"action", "code"}),
		launched: prometheus.NewCounter(prometheus.CounterOpts{Name: "farmhand_coordinator_launched_instances_total",
			Help: "Instances launched by this agent's coordinator (RunInstances answered)."}),
		terminated: prometheus.NewCounter(prometheus.CounterOpts{Name: "farmhand_coordinator_terminated_instances_total",
			Help: "Dead instances terminated by this agent's coordinator before their replacement."}),
		freezes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "farmhand_coordinator_freezes_total",
			Help: "Times a group became frozen (too much of it unhealthy: no replacement), by group."}, []string{"group"}),
		drainNotices: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "farmhand_drain_notices_total",
			Help: "Drain notices this agent acted on, by kind (spot-interruption, rebalance, asg-termination, ...)."}, []string{"kind"}),
		handlerRuns: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "farmhand_handler_runs_total",
			Help: "Event handler runs, by handler and event."}, []string{"handler", "event"}),
		handlerFailures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "farmhand_handler_failures_total",
			Help: "Event handler runs that failed, by handler and reason (exit, timeout, start, dropped)."}, []string{"handler", "reason"}),
		handlerSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "farmhand_handler_duration_seconds",
			Help:    "How long event handler runs took, by handler.",
			Buckets: []float64{0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60}}, []string{"handler"}),
	}
}

// collectors lists what the metrics server registers.
func (e *eventMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{e.decisions, e.launched, e.terminated, e.freezes, e.drainNotices,
		e.handlerRuns, e.handlerFailures, e.handlerSeconds}
}

// decided counts one coordinator decision (coordinator.Config.OnDecision).
func (e *eventMetrics) decided(d coordinator.Decision) {
	if e == nil {
		return
	}
	e.decisions.WithLabelValues(string(d.Action), d.Code).Inc()
	switch {
	case d.Action == coordinator.ActionLaunch && !d.DryRun:
		e.launched.Add(float64(len(d.Instances)))
	case d.Action == coordinator.ActionTerminate && !d.DryRun:
		e.terminated.Add(float64(len(d.Instances)))
	case d.Action == coordinator.ActionFreeze:
		e.freezes.WithLabelValues(d.Group).Inc()
	}
}

// DrainNotice counts one drain notice of kind (for example
// "spot-interruption", "rebalance", "asg-termination"): the drain watcher
// calls it once per notice it acts on, as farmhand_drain_notices_total.
func (e *eventMetrics) DrainNotice(kind string) {
	if e == nil {
		return
	}
	e.drainNotices.WithLabelValues(kind).Inc()
}

// handlerRan counts one handler run that took seconds; failure is "" for
// a success, else exit, timeout, start or dropped.
func (e *eventMetrics) handlerRan(handler, event, failure string, seconds float64) {
	if e == nil {
		return
	}
	if failure != "dropped" {
		e.handlerRuns.WithLabelValues(handler, event).Inc()
		e.handlerSeconds.WithLabelValues(handler).Observe(seconds)
	}
	if failure != "" {
		e.handlerFailures.WithLabelValues(handler, failure).Inc()
	}
}
