package gateway

import (
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/portolan/portolan/agent/gateway/policy"
)

// APIcast's Prometheus metrics, with its names, types, labels and buckets,
// so that a dashboard built for APIcast reads a Portolan gateway unchanged.
// Taken from APIcast's gateway/src/apicast/policy/nginx_metrics/nginx_metrics.lua
// (total_response_time_seconds, nginx_error_log), gateway/src/apicast/metrics/upstream.lua
// (upstream_status, upstream_response_time_seconds), gateway/src/apicast/metrics/3scale_backend_calls.lua
// (threescale_backend_calls: agent/metrics.go) and doc/prometheus-metrics.md. The
// histograms have no buckets of their own in APIcast: they get
// nginx-lua-prometheus's defaults, 5 ms to 10 s, below.
//
// content_caching is the content_caching policy's (policy.Metrics). Left
// out, having no meaning in this gateway: openresty_shdict_* (no nginx
// shared dictionaries), batching_policy_* (3scale_batcher keeps no cache
// of authorizations to count here: the agent authorizes each request
// locally and always batches) and worker_process (no nginx workers).
// nginx_http_connections counts the lean loop's connections
// (metrics_connections.go).
const (
	metricTotalTime      = "total_response_time_seconds"
	metricUpstreamTime   = "upstream_response_time_seconds"
	metricUpstreamStatus = "upstream_status"
	metricAPIcastStatus  = "apicast_status"
	metricErrorLog       = "nginx_error_log"
	metricMetricErrors   = "nginx_metric_errors_total"
)

// apicastBuckets are nginx-lua-prometheus' DEFAULT_BUCKETS, which APIcast's
// histograms use.
var apicastBuckets = []float64{0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2, 3, 4, 5, 10}

// apicastMetrics are the metric families, registered once per gateway.
type apicastMetrics struct {
	extended bool // service labels filled in, as APICAST_EXTENDED_METRICS does

	totalTime, upstreamTime      *prometheus.HistogramVec
	upstreamStatus, statusCounts *prometheus.CounterVec
	apicastStatus                *prometheus.CounterVec
	errorLog                     *prometheus.CounterVec
	metricErrors                 prometheus.Counter

	// requests counts the answered requests, nginx's stub_status
	// "requests": nginx_http_connections{state="total"}.
	requests atomic.Uint64

	noService *serviceMetrics // answers given before a service is known
}

func newAPIcastMetrics(reg prometheus.Registerer, extended bool) *apicastMetrics {
	svc := []string{"service_id", "service_system_name"}
	m := &apicastMetrics{
		extended: extended,
		totalTime: policy.Register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: metricTotalTime, Help: "Time needed to send a response to the client (in seconds), as APIcast exports it.", Buckets: apicastBuckets,
		}, svc)),
		upstreamTime: policy.Register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: metricUpstreamTime, Help: "Response times from upstream servers (in seconds), as APIcast exports it.", Buckets: apicastBuckets,
		}, svc)),
		upstreamStatus: policy.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: metricUpstreamStatus, Help: "HTTP status from upstream servers, as APIcast exports it (invalid: a code outside 100-599).",
		}, []string{"status", "service_id", "service_system_name"})),
		apicastStatus: policy.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: metricAPIcastStatus, Help: "HTTP status of the gateway's responses to clients, as APIcast exports it (invalid: a code outside 100-599).",
		}, []string{"status"})),
		statusCounts: policy.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portolan_agent_gateway_responses_total",
			Help: "Responses the gateway sent to clients, by service and status (its own answers included; invalid: a code outside 100-599), whatever --gateway-extended-metrics says.",
		}, []string{"service_id", "service_system_name", "status"})),
		errorLog: policy.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: metricErrorLog, Help: "Gateway log messages at level error or above, by nginx's level name, as APIcast exports it.",
		}, []string{"level"})),
		metricErrors: policy.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: metricMetricErrors, Help: "Errors recording metrics, as APIcast exports it: always 0, Go's client cannot fail to record.",
		})),
	}
	m.noService = m.forService(0, "")
	return m
}

// serviceMetrics are one service's series, resolved when its view is built so
// that a request only adds and observes. Status counters are resolved the
// first time a status is seen (creating a series for every status up front
// would show statuses never answered) and cached by status code after.
type serviceMetrics struct {
	m                         *apicastMetrics
	id, name                  string // the label values, "" when not extended
	ownID, ownName            string // Portolan's own labels, always filled
	totalTime, upstreamTime   prometheus.Observer
	responses, upstreamStatus [statusSlots]atomic.Pointer[prometheus.Counter] // by status-minStatus
	ownStatus                 [statusSlots]atomic.Pointer[prometheus.Counter]
}

const (
	minStatus   = 100
	statusSlots = 501 // 100 to 599, then invalidStatus for any other
)

// invalidStatus is the status label of an answer whose code is not an
// HTTP status (not 100 to 599): the app, or an instance routed to, chooses
// its status line's three digits, and each code of its own would be a new
// series kept until the agent restarts. APIcast bounds its status labels
// the same way (3scale_backend_calls.lua: invalid_status), as promhttp does
// (unknown).
const invalidStatus = "invalid"

// statusSlot is status's slot in a serviceMetrics' counters: the last,
// invalidStatus's, for a code outside 100 to 599.
func statusSlot(status int) int {
	if status < minStatus || status >= minStatus+statusSlots-1 {
		return statusSlots - 1
	}
	return status - minStatus
}

// slotLabel is the status label of slot i (computed only when its counter
// is first resolved: the request path allocates nothing).
func slotLabel(i int) string {
	if i == statusSlots-1 {
		return invalidStatus
	}
	return strconv.Itoa(i + minStatus)
}

func (m *apicastMetrics) forService(id int64, systemName string) *serviceMetrics {
	sm := &serviceMetrics{m: m}
	if id != 0 {
		sm.ownID, sm.ownName = strconv.FormatInt(id, 10), systemName
	}
	if m.extended {
		sm.id, sm.name = sm.ownID, sm.ownName
	}
	sm.totalTime = m.totalTime.WithLabelValues(sm.id, sm.name)
	sm.upstreamTime = m.upstreamTime.WithLabelValues(sm.id, sm.name)
	return sm
}

// counter returns the cached counter of status in slots, resolving it with
// resolve the first time.
func counter(slots *[statusSlots]atomic.Pointer[prometheus.Counter], status int, resolve func(string) prometheus.Counter) prometheus.Counter {
	i := statusSlot(status)
	if c := slots[i].Load(); c != nil {
		return *c
	}
	c := resolve(slotLabel(i))
	slots[i].Store(&c)
	return c
}

// observe records one response: its status and time, and the upstream's
// when it was reached.
func (sm *serviceMetrics) observe(status int, total time.Duration, upstreamStatus int, upstreamTime time.Duration) {
	m := sm.m
	m.requests.Add(1)
	counter(&sm.responses, status, func(s string) prometheus.Counter { return m.apicastStatus.WithLabelValues(s) }).Inc()
	counter(&sm.ownStatus, status, func(s string) prometheus.Counter { return m.statusCounts.WithLabelValues(sm.ownID, sm.ownName, s) }).Inc()
	sm.totalTime.Observe(total.Seconds())
	if upstreamStatus != 0 {
		counter(&sm.upstreamStatus, upstreamStatus, func(s string) prometheus.Counter {
			return m.upstreamStatus.WithLabelValues(s, sm.id, sm.name)
		}).Inc()
		sm.upstreamTime.Observe(upstreamTime.Seconds())
	}
}

// errorLogHook counts the gateway's log messages as nginx_error_log does:
// by default APIcast keeps the error level and above (NGINX_METRICS_LOG_LEVEL
// defaults to error), so warnings and below are not counted.
type errorLogHook struct {
	errs, crit, emerg prometheus.Counter
}

func (m *apicastMetrics) logHook() zerolog.Hook {
	return &errorLogHook{
		errs: m.errorLog.WithLabelValues("error"), crit: m.errorLog.WithLabelValues("crit"), emerg: m.errorLog.WithLabelValues("emerg"),
	}
}

func (h *errorLogHook) Run(_ *zerolog.Event, level zerolog.Level, _ string) {
	switch level {
	case zerolog.ErrorLevel:
		h.errs.Inc()
	case zerolog.FatalLevel:
		h.crit.Inc()
	case zerolog.PanicLevel:
		h.emerg.Inc()
	}
}
