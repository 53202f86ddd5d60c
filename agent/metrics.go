package agent

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/portolan/portolan/agent/ledger"
	"github.com/portolan/portolan/internal/httpserve"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

type metrics struct {
	registry      *prometheus.Registry
	heartbeats    *prometheus.CounterVec
	registrations *prometheus.CounterVec
	revision      prometheus.Gauge
	status        *prometheus.GaugeVec
	backendCalls  *prometheus.CounterVec // APIcast's threescale_backend_calls
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		heartbeats: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portolan_agent_heartbeats_total", Help: "Heartbeats sent to home, by result.",
		}, []string{"result"}),
		registrations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portolan_agent_registrations_total", Help: "Registrations attempted, by result.",
		}, []string{"result"}),
		revision: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "portolan_agent_composition_revision", Help: "Newest composition revision heard from home.",
		}),
		status: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "portolan_agent_health", Help: "1 for the current health status of the app.",
		}, []string{"status"}),
		backendCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "threescale_backend_calls",
			Help: "Calls to the 3scale backend, as APIcast exports it: here the usage reports to home (endpoint report); " +
				"authorization is local, so auth and authrep never occur. Status is 2xx, 4xx, 5xx or invalid_status (no answer).",
		}, []string{"endpoint", "status"}),
	}
	m.registry.MustRegister(m.heartbeats, m.registrations, m.revision, m.status, m.backendCalls,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.setStatus(registry.StatusPassing)
	return m
}

func (m *metrics) setStatus(status string) {
	for _, s := range []string{registry.StatusPassing, registry.StatusWarning, registry.StatusCritical} {
		v := 0.0
		if s == status {
			v = 1
		}
		m.status.WithLabelValues(s).Set(v)
	}
}

// handler serves the agent's metrics in Prometheus' format.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// startMetrics serves GET /metrics and the probes (health.go), and nothing
// else, on --metrics-listen until ctx ends, so that Prometheus and an
// orchestrator reach the agent from outside without reaching the local API.
func (a *Agent) startMetrics(ctx context.Context, wg *sync.WaitGroup) error {
	if a.cfg.MetricsListen == "" {
		return nil
	}
	ln, err := net.Listen("tcp", a.cfg.MetricsListen)
	if err != nil {
		return fmt.Errorf("metrics on %s (--metrics-listen): %w", a.cfg.MetricsListen, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.m.handler())
	mux.HandleFunc("GET "+PathHealthLive, a.healthLive)
	mux.HandleFunc("GET "+PathHealthReady, a.healthReady)
	wg.Add(1)
	go func() {
		defer wg.Done()
		serveUntil(ctx, httpserve.New(mux, a.localLimits()), httpserve.Listener(ln, a.localLimits()), a.log, "metrics listener")
	}()
	return nil
}

// countedReporter counts the usage reports to home as APIcast counts its
// calls to apisonator in threescale_backend_calls: APIcast's authrep and
// auth authorize each request against the backend, which the agent does
// locally from its composition; what it does call is home's usage
// endpoint, once a report interval, batching as the 3scale_batcher policy
// does, hence endpoint "report".
type countedReporter struct {
	home  ledger.Reporter
	calls *prometheus.CounterVec
}

func (m *metrics) countBackendCalls(home ledger.Reporter) ledger.Reporter {
	return &countedReporter{home: home, calls: m.backendCalls}
}

func (r *countedReporter) PostUsage(ctx context.Context, batch *registry.UsageBatch) (*registry.UsageReply, error) {
	reply, err := r.home.PostUsage(ctx, batch)
	r.calls.WithLabelValues("report", backendCallStatus(err)).Inc()
	return reply, err
}

// backendCallStatus is APIcast's status label: the answer's class, or
// invalid_status when there was no answer to class.
func backendCallStatus(err error) string {
	if err == nil {
		return "2xx"
	}
	code := client.StatusCode(err)
	if code < 100 || code > 599 {
		return "invalid_status"
	}
	return strconv.Itoa(code/100) + "xx"
}

// usageBacklog exports how far behind home the gateway's usage reports
// are, read from the ledger at each scrape: while home acknowledges every
// report both stay near 0; while it is unreachable they grow until the
// spool is full and the gateway refuses requests.
type usageBacklog struct {
	l            *ledger.Ledger
	batches, lag *prometheus.Desc
}

// watchUsage exports the backlog of the gateway's usage ledger.
func (m *metrics) watchUsage(l *ledger.Ledger) {
	m.registry.MustRegister(&usageBacklog{
		l: l,
		batches: prometheus.NewDesc("portolan_agent_usage_pending_batches",
			"Usage batches cut and not yet acknowledged by home (spooled).", nil, nil),
		lag: prometheus.NewDesc("portolan_agent_usage_report_lag_seconds",
			"Age of the oldest usage batch home has not acknowledged yet; 0 when home has all the usage cut so far.", nil, nil),
	})
}

func (b *usageBacklog) Describe(ch chan<- *prometheus.Desc) { ch <- b.batches; ch <- b.lag }

func (b *usageBacklog) Collect(ch chan<- prometheus.Metric) {
	n, age := b.l.Backlog(time.Now())
	ch <- prometheus.MustNewConstMetric(b.batches, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(b.lag, prometheus.GaugeValue, age.Seconds())
}
