package agent_test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// apicastMetric is one of APIcast's metrics as a dashboard reads it.
type apicastMetric struct {
	name   string
	typ    dto.MetricType
	labels []string // sorted
}

// apicastMetrics are APIcast's Prometheus metrics that have a meaning in a
// Portolan gateway, with their types and label sets, from APIcast's
// doc/prometheus-metrics.md and sources:
//
//	gateway/src/apicast/policy/nginx_metrics/nginx_metrics.lua:
//	  prometheus('histogram', 'total_response_time_seconds', ..., { 'service_id', 'service_system_name' })
//	  prometheus('counter', 'nginx_error_log', ..., {'level'})
//	gateway/src/apicast/metrics/upstream.lua:
//	  prometheus('counter', 'upstream_status', ..., { status_label, service_label, service_system_name_label })
//	  prometheus('histogram', 'upstream_response_time_seconds', ..., { service_label, service_system_name_label })
//	gateway/src/apicast/metrics/3scale_backend_calls.lua:
//	  prometheus('counter', 'threescale_backend_calls', ..., { 'endpoint', 'status' })
//	nginx-lua-prometheus (the library APIcast's metrics go through):
//	  nginx_metric_errors_total, a counter without labels
//
// and apicast_status (a counter by status), which the brief names and the
// stored APIcast sources do not show.
var apicastMetrics = []apicastMetric{
	{"total_response_time_seconds", dto.MetricType_HISTOGRAM, []string{"service_id", "service_system_name"}},
	{"upstream_response_time_seconds", dto.MetricType_HISTOGRAM, []string{"service_id", "service_system_name"}},
	{"upstream_status", dto.MetricType_COUNTER, []string{"service_id", "service_system_name", "status"}},
	{"apicast_status", dto.MetricType_COUNTER, []string{"status"}},
	{"threescale_backend_calls", dto.MetricType_COUNTER, []string{"endpoint", "status"}},
	{"nginx_metric_errors_total", dto.MetricType_COUNTER, nil},
}

// scrape reads the agent's /metrics as Prometheus does.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	return mfs
}

func labelsOf(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// A real agent with a gateway, scraped on --metrics-listen after traffic:
// every APIcast metric is there with APIcast's name, type and labels, and
// the series the 3scale operator's per-service APIcast dashboard
// (apicast-grafana-dashboard-2) queries exist for the service:
//
//	sum(rate(upstream_status{..., service_id='$service_id'}[1m])) by (status)
//	histogram_quantile($percentile/100, sum(rate(total_response_time_seconds_bucket{..., service_id='$service_id'}[1m])) by (le))
//	label_values(total_response_time_seconds_bucket{...}, service_id)
func TestAgentExportsAPIcastMetrics(t *testing.T) {
	co := testenv.StartCoordinator(t)
	sid, _ := countedService(t, co, "News", "news")
	var plan struct {
		Plan struct{ ID int64 } `json:"application_plan"`
	}
	adminCall(t, co, "POST", fmt.Sprintf("/admin/api/services/%d/application_plans.json", sid), "name=Basic", &plan)
	var signup struct {
		Account struct{ ID int64 } `json:"account"`
	}
	adminCall(t, co, "POST", "/admin/api/signup.json", "org_name=Acme&username=alice&email=alice@example.com&password=s3cret-pass", &signup)
	adminCall(t, co, "POST", fmt.Sprintf("/admin/api/accounts/%d/applications.json", signup.Account.ID),
		fmt.Sprintf("name=mobile&plan_id=%d&user_key=metrics-key", plan.Plan.ID), nil)

	// --otel-endpoint reaches the gateway: spans arrive over OTLP/HTTP
	// (their content is tested in agent/gateway/tracing_test.go).
	var exported atomic.Bool
	otlp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/v1/traces" && r.Header.Get("Content-Type") == "application/x-protobuf" {
			exported.Store(true)
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	t.Cleanup(otlp.Close)

	host, port := gwUpstream(t, "app")
	gw, metricsAddr := testenv.FreeAddr(t), testenv.FreeAddr(t)
	a := testenv.StartAgent(t, co, "--service", "news", "--address", host, "--port", port,
		"--gateway-listen", gw, "--upstream", "http://"+net.JoinHostPort(host, port), "--metrics-listen", metricsAddr, "--otel-endpoint", otlp.URL,
		"--report-interval", "100ms", "--heartbeat", "300ms", "--ttl", "1s", "--", "sleep", "60")
	a.ID()
	base := "http://" + gw
	require.Eventually(t, func() bool { return get(t, base+"/?user_key=metrics-key").status == http.StatusOK }, 10*time.Second, 20*time.Millisecond)
	assert.Equal(t, http.StatusOK, get(t, base+"/articles?user_key=metrics-key").status)
	assert.Equal(t, http.StatusForbidden, get(t, base+"/").status)

	var mfs map[string]*dto.MetricFamily
	require.Eventually(t, func() bool {
		mfs = scrape(t, "http://"+metricsAddr+"/metrics")
		return mfs["threescale_backend_calls"] != nil
	}, 5*time.Second, 50*time.Millisecond, "the usage reports to home are counted")

	for _, want := range apicastMetrics {
		mf := mfs[want.name]
		if !assert.NotNil(t, mf, want.name) {
			continue
		}
		assert.Equal(t, want.typ, mf.GetType(), want.name)
		for _, m := range mf.GetMetric() {
			var names []string
			for n := range labelsOf(m) {
				names = append(names, n)
			}
			slices.Sort(names)
			assert.Equal(t, want.labels, names, "%s's labels", want.name)
		}
	}

	svc := map[string]string{"service_id": strconv.FormatInt(sid, 10), "service_system_name": "news"}
	has := func(name string, want map[string]string) bool {
		for _, m := range mfs[name].GetMetric() {
			got := labelsOf(m)
			if func() bool {
				for k, v := range want {
					if got[k] != v {
						return false
					}
				}
				return true
			}() {
				return true
			}
		}
		return false
	}
	assert.True(t, has("upstream_status", map[string]string{"service_id": svc["service_id"], "status": "200"}),
		"upstream_status{service_id='$service_id'} by (status)")
	total := mfs["total_response_time_seconds"]
	require.NotNil(t, total)
	assert.True(t, has("total_response_time_seconds", svc), "total_response_time_seconds_bucket{service_id='$service_id'} by (le)")
	for _, m := range total.GetMetric() {
		if labelsOf(m)["service_id"] == svc["service_id"] {
			h := m.GetHistogram()
			assert.GreaterOrEqual(t, h.GetSampleCount(), uint64(3), "every answer timed, the 403 included")
			assert.Len(t, h.GetBucket(), 20, "APIcast's 19 buckets, 5 ms to 10 s, and +Inf")
		}
	}
	assert.True(t, has("upstream_response_time_seconds", svc))
	assert.True(t, has("apicast_status", map[string]string{"status": "403"}))
	assert.True(t, has("threescale_backend_calls", map[string]string{"endpoint": "report", "status": "2xx"}))
	assert.NotNil(t, mfs["portolan_agent_gateway_requests_total"], "Portolan's own metrics stay")
	assert.Eventually(t, exported.Load, 10*time.Second, 20*time.Millisecond, "the gateway's spans reach the OTLP collector")
}
