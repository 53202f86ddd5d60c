package agent

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/portolan/portolan/internal/httpserve"
	"github.com/portolan/portolan/registry"
)

type metrics struct {
	registry      *prometheus.Registry
	heartbeats    *prometheus.CounterVec
	registrations *prometheus.CounterVec
	revision      prometheus.Gauge
	status        *prometheus.GaugeVec
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
	}
	m.registry.MustRegister(m.heartbeats, m.registrations, m.revision, m.status,
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

// startMetrics serves GET /metrics, and nothing else, on --metrics-listen
// until ctx ends, so that Prometheus can scrape the agent from outside
// without reaching the local API.
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
	wg.Add(1)
	go func() {
		defer wg.Done()
		serveUntil(ctx, httpserve.New(mux, a.localLimits()), ln, a.log, "metrics listener")
	}()
	return nil
}
