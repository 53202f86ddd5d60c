package agent

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

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
