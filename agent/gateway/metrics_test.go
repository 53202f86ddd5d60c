package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// family returns the metric family name from reg, failing when absent.
func family(t testing.TB, reg prometheus.Gatherer, name string) *dto.MetricFamily {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf
		}
	}
	require.Failf(t, "metric family missing", "%s", name)
	return nil
}

// series finds the series of family name whose labels are exactly labels.
func series(t testing.TB, reg prometheus.Gatherer, name string, labels map[string]string) *dto.Metric {
	t.Helper()
	for _, m := range family(t, reg, name).GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		if assert.ObjectsAreEqual(labels, got) {
			return m
		}
	}
	require.Failf(t, "series missing", "%s%v", name, labels)
	return nil
}

// With --gateway-extended-metrics, as with APICAST_EXTENDED_METRICS=true,
// APIcast's traffic metrics carry the service's id and system name; every
// answer is counted, the gateway's own refusals included, and the upstream's
// only when it was reached (nginx_metrics.lua reports ngx.var.upstream_status,
// empty when no upstream was called).
func TestAPIcastMetricsExtended(t *testing.T) {
	f := newGatewayFixture(t, backendUserKey)
	up, _ := echoUpstream(t, "app")
	_, gw, reg := startTestGateway(t, f, up.URL, f.placement(f.basic, f.premium), Config{ExtendedMetrics: true})
	assert.Equal(t, http.StatusOK, call(t, "GET", gw+"/?user_key=premium-key", nil).status)
	assert.Equal(t, http.StatusOK, call(t, "GET", gw+"/a?user_key=premium-key", nil).status)
	assert.Equal(t, http.StatusForbidden, call(t, "GET", gw+"/", nil).status)
	assert.Equal(t, http.StatusNotFound, call(t, "POST", gw+"/?user_key=premium-key", nil).status)

	id, name := strconv.FormatInt(f.svc.ID, 10), f.svc.SystemName
	svc := map[string]string{"service_id": id, "service_system_name": name}
	total := series(t, reg, "total_response_time_seconds", svc).GetHistogram()
	assert.Equal(t, uint64(4), total.GetSampleCount(), "every answer is timed")
	upstream := series(t, reg, "upstream_response_time_seconds", svc).GetHistogram()
	assert.Equal(t, uint64(2), upstream.GetSampleCount(), "only the forwarded requests reached the upstream")
	assert.Positive(t, upstream.GetSampleSum())
	var bounds []float64
	for _, b := range total.GetBucket() {
		bounds = append(bounds, b.GetUpperBound())
	}
	assert.Equal(t, []float64{0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2, 3, 4, 5, 10}, bounds,
		"nginx-lua-prometheus' default buckets, which APIcast's histograms use")

	assert.Equal(t, 2.0, series(t, reg, "upstream_status", map[string]string{"status": "200", "service_id": id, "service_system_name": name}).GetCounter().GetValue())
	assert.Len(t, family(t, reg, "upstream_status").GetMetric(), 1, "no upstream status for answers the gateway gave itself")
	for status, n := range map[string]float64{"200": 2, "403": 1, "404": 1} {
		assert.Equal(t, n, series(t, reg, "apicast_status", map[string]string{"status": status}).GetCounter().GetValue(), status)
		assert.Equal(t, n, series(t, reg, "portolan_agent_gateway_responses_total",
			map[string]string{"status": status, "service_id": id, "service_system_name": name}).GetCounter().GetValue(), status)
	}
	assert.Equal(t, 0.0, series(t, reg, "nginx_metric_errors_total", map[string]string{}).GetCounter().GetValue())
	assert.Equal(t, dto.MetricType_HISTOGRAM, family(t, reg, "total_response_time_seconds").GetType())
	assert.Equal(t, dto.MetricType_COUNTER, family(t, reg, "upstream_status").GetType())
}

// Without it, as APIcast by default, the service labels are present and
// empty (`service.id or ""` in upstream.lua), while Portolan's own status
// counts keep the service.
func TestAPIcastMetricsNotExtended(t *testing.T) {
	f := newGatewayFixture(t, backendUserKey)
	up, _ := echoUpstream(t, "app")
	_, gw, reg := startTestGateway(t, f, up.URL, f.placement(f.basic, f.premium), Config{})
	assert.Equal(t, http.StatusOK, call(t, "GET", gw+"/?user_key=premium-key", nil).status)
	empty := map[string]string{"service_id": "", "service_system_name": ""}
	assert.Equal(t, uint64(1), series(t, reg, "total_response_time_seconds", empty).GetHistogram().GetSampleCount())
	assert.Equal(t, uint64(1), series(t, reg, "upstream_response_time_seconds", empty).GetHistogram().GetSampleCount())
	assert.Equal(t, 1.0, series(t, reg, "upstream_status", map[string]string{"status": "200", "service_id": "", "service_system_name": ""}).GetCounter().GetValue())
	assert.Equal(t, 1.0, series(t, reg, "portolan_agent_gateway_responses_total",
		map[string]string{"status": "200", "service_id": strconv.FormatInt(f.svc.ID, 10), "service_system_name": f.svc.SystemName}).GetCounter().GetValue())
}

// An unreachable upstream is nginx's upstream status 502; a gateway with no
// service yet still counts its 503s, with empty service labels, as APIcast
// counts a request it found no service for; a chain that cannot run is an
// error in nginx_error_log.
func TestAPIcastMetricsGatewayErrors(t *testing.T) {
	f := newGatewayFixture(t, backendUserKey)
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	_, gw, reg := startTestGateway(t, f, dead.URL, f.placement(f.basic, f.premium), Config{})
	assert.Equal(t, http.StatusBadGateway, call(t, "GET", gw+"/?user_key=premium-key", nil).status)
	assert.Equal(t, 1.0, series(t, reg, "upstream_status", map[string]string{"status": "502", "service_id": "", "service_system_name": ""}).GetCounter().GetValue())
	assert.Equal(t, 1.0, series(t, reg, "apicast_status", map[string]string{"status": "502"}).GetCounter().GetValue())

	reg2 := prometheus.NewRegistry()
	u, err := url.Parse("http://127.0.0.1:1")
	require.NoError(t, err)
	g := New(Config{MaxBodyBytes: 1}, u, "self", &countingLedger{}, reg2, zerolog.New(io.Discard))
	g.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	assert.Equal(t, 1.0, series(t, reg2, "apicast_status", map[string]string{"status": "503"}).GetCounter().GetValue())
	assert.Equal(t, uint64(1), series(t, reg2, "total_response_time_seconds",
		map[string]string{"service_id": "", "service_system_name": ""}).GetHistogram().GetSampleCount())

	f.proxy(t, func(p *composition.Proxy) {
		p.PolicyChain = policyChain(t, `[{"name":"llm","configuration":{},"enabled":true}]`)
	})
	_, err = g.Update(agentView(t, f.tx.Result(), f.svc.SystemName), f.placement(f.basic))
	require.NoError(t, err)
	assert.Equal(t, 1.0, series(t, reg2, "nginx_error_log", map[string]string{"level": "error"}).GetCounter().GetValue())
}

// The request path resolves no label and allocates nothing for its
// metrics once a status has been seen.
func TestAPIcastMetricsObserveAllocatesNothing(t *testing.T) {
	am := newAPIcastMetrics(prometheus.NewRegistry(), true)
	sm := am.forService(7, "news")
	sm.observe(200, time.Millisecond, 200, time.Millisecond)
	allocs := testing.AllocsPerRun(1000, func() { sm.observe(200, time.Millisecond, 200, time.Millisecond) })
	assert.Zero(t, allocs)
}

// BenchmarkGatewayMetrics is what the metrics add to a request: one
// observation of an answer that reached the upstream.
func BenchmarkGatewayMetrics(b *testing.B) {
	sm := newAPIcastMetrics(prometheus.NewRegistry(), true).forService(7, "news")
	b.ReportAllocs()
	for b.Loop() {
		sm.observe(200, time.Millisecond, 200, time.Millisecond)
	}
}
