package grafana_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// targetLabels are the labels Prometheus attaches to what it scrapes: no
// /metrics has them.
var targetLabels = []string{"instance", "job"}

// families is what the scrapes hold: each family's type and label names.
type families map[string]*dto.MetricFamily

func scrape(t *testing.T, url string) families {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, url)
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	require.NoError(t, err, url)
	return mfs
}

// family returns the family a query's metric name reads: the name itself,
// or a histogram's or summary's series (_bucket, _sum, _count).
func (fs families) family(name string) (*dto.MetricFamily, bool) {
	if mf, ok := fs[name]; ok {
		return mf, true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base, ok := strings.CutSuffix(name, suffix)
		if !ok {
			continue
		}
		mf, ok := fs[base]
		if !ok {
			continue
		}
		typ := mf.GetType()
		if typ == dto.MetricType_HISTOGRAM || (typ == dto.MetricType_SUMMARY && suffix != "_bucket") {
			return mf, true
		}
	}
	return nil, false
}

// hasLabel reports whether the series of name carry label: le is a
// histogram's bucket label, the others must be on one of its series.
func (fs families) hasLabel(name, label string) bool {
	mf, ok := fs.family(name)
	if !ok {
		return false
	}
	if label == "le" {
		return strings.HasSuffix(name, "_bucket")
	}
	for _, m := range mf.GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == label {
				return true
			}
		}
	}
	return false
}

// check asserts that every metric q reads is in fs, with every label it
// filters or groups by.
func (fs families) check(t *testing.T, q query) {
	t.Helper()
	use, err := parsePromQL(q.expr)
	if !assert.NoError(t, err, q.where) {
		return
	}
	require.NotEmpty(t, use.selectors, "%s reads no metric", q.where)
	for _, sel := range use.selectors {
		if _, ok := fs.family(sel.name); !assert.True(t, ok, "%s: %s is in no scrape", q.where, sel.name) {
			continue
		}
		for _, l := range sel.labels {
			if !slices.Contains(targetLabels, l) {
				assert.True(t, fs.hasLabel(sel.name, l), "%s: %s has no label %s to match", q.where, sel.name, l)
			}
		}
		if q.label != "" && !slices.Contains(targetLabels, q.label) {
			assert.True(t, fs.hasLabel(sel.name, q.label), "%s: %s has no label %s to list", q.where, sel.name, q.label)
		}
	}
	for _, agg := range use.aggregations {
		for _, l := range agg.grouping {
			if slices.Contains(targetLabels, l) {
				continue
			}
			for _, name := range agg.names {
				assert.True(t, fs.hasLabel(name, l), "%s: %s by (%s): %s has no label %s", q.where, agg.op, l, name, l)
			}
		}
	}
}

// admin calls the coordinator's 3scale API with its access token and
// requires a success.
func admin(t *testing.T, co *testenv.Coordinator, method, path string, form url.Values) string {
	t.Helper()
	req, err := http.NewRequest(method, co.URL+path, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("", co.Token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	require.Less(t, resp.StatusCode, 300, "%s %s: %s", method, path, b)
	return string(b)
}

func status(t *testing.T, u string) int {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// counterValue is the value of name's series whose labels include want.
func counterValue(fs families, name string, want map[string]string) float64 {
	mf, ok := fs[name]
	if !ok {
		return 0
	}
	for _, m := range mf.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range want {
			match = match && got[k] == v
		}
		if match {
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// A real coordinator and a real agent with its gateway, after traffic (a
// forwarded request, one over its plan's limit, the usage reported home):
// every metric family the dashboard queries is in their /metrics, with
// every label it filters or groups by.
func TestDashboardQueriesExistInRealScrapes(t *testing.T) {
	d := loadDashboard(t)
	co := testenv.StartCoordinator(t)
	sid := co.Create(t, "/admin/api/services.json", url.Values{"name": {"News"}, "system_name": {"news"}, "backend_version": {"1"}}.Encode())
	body := admin(t, co, http.MethodGet, "/admin/api/services/"+sid+"/metrics.json", nil)
	hits := metricID(t, body, "hits")
	co.Create(t, "/admin/api/services/"+sid+"/proxy/mapping_rules.json",
		url.Values{"http_method": {"GET"}, "pattern": {"/"}, "delta": {"1"}, "metric_id": {hits}}.Encode())
	plan := co.Create(t, "/admin/api/services/"+sid+"/application_plans.json", "name=Basic")
	co.Create(t, "/admin/api/application_plans/"+plan+"/metrics/"+hits+"/limits.json", "period=eternity&value=1")
	account := co.Create(t, "/admin/api/signup.json", "org_name=Acme&username=alice&email=alice@example.com&password=s3cret-pass")
	co.Create(t, "/admin/api/accounts/"+account+"/applications.json", "name=mobile&plan_id="+plan+"&user_key=dashboard-key")

	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "news") }))
	t.Cleanup(app.Close)
	host, port, err := net.SplitHostPort(strings.TrimPrefix(app.URL, "http://"))
	require.NoError(t, err)
	gw, metricsAddr := testenv.FreeAddr(t), testenv.FreeAddr(t)
	testenv.StartAgent(t, co, "--service", "news", "--address", host, "--port", port,
		"--gateway-listen", gw, "--upstream", app.URL, "--metrics-listen", metricsAddr,
		"--report-interval", "100ms", "--heartbeat", "300ms", "--ttl", "2s", "--", "sleep", "60")

	keyed := "http://" + gw + "/articles?user_key=dashboard-key"
	require.Eventually(t, func() bool { return status(t, keyed) == http.StatusOK }, 15*time.Second, 20*time.Millisecond,
		"the gateway forwards once it has the composition")
	assert.Equal(t, http.StatusTooManyRequests, status(t, keyed), "the plan's one hit is used: over its limit")

	var home, agent families
	require.Eventually(t, func() bool {
		home, agent = scrape(t, co.URL+"/metrics"), scrape(t, "http://"+metricsAddr+"/metrics")
		return counterValue(home, "portolan_usage_batches_total", map[string]string{"result": "applied"}) > 0 &&
			counterValue(agent, "threescale_backend_calls", map[string]string{"endpoint": "report", "status": "2xx"}) > 0 &&
			counterValue(agent, "portolan_agent_heartbeats_total", map[string]string{"result": "ok"}) > 0
	}, 10*time.Second, 50*time.Millisecond, "the usage is reported home, a heartbeat is sent")
	assert.Equal(t, 1.0, counterValue(agent, "portolan_agent_gateway_requests_total", map[string]string{"result": "limits_exceeded"}))

	all := families{}
	for name, mf := range home {
		all[name] = mf
	}
	for name, mf := range agent {
		if prev, ok := all[name]; ok { // the Go and process collectors, on both
			mf = &dto.MetricFamily{Name: prev.Name, Help: prev.Help, Type: prev.Type,
				Metric: append(append([]*dto.Metric{}, prev.Metric...), mf.Metric...)}
		}
		all[name] = mf
	}
	queries := d.queries(t)
	require.NotEmpty(t, queries)
	for _, q := range queries {
		all.check(t, q)
	}
}

// metricID returns the id of the metric named systemName in a 3scale
// metrics list.
func metricID(t *testing.T, body, systemName string) string {
	t.Helper()
	var list struct {
		Metrics []struct {
			Metric struct {
				ID         int64  `json:"id"`
				SystemName string `json:"system_name"`
			} `json:"metric"`
		} `json:"metrics"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &list))
	for _, m := range list.Metrics {
		if m.Metric.SystemName == systemName {
			return fmt.Sprint(m.Metric.ID)
		}
	}
	t.Fatalf("no metric %s in %s", systemName, body)
	return ""
}
