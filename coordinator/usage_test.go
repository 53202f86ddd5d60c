package coordinator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/coordinator"
	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

const (
	usageAdminToken = "usage-admin-token"
	usageAgentToken = "usage-agent-token"
)

// usageHome is a coordinator run in-process on a fresh data dir, with a
// service (hits limited to 5 a minute and 100 a day) and two applications.
type usageHome struct {
	url, dir         string
	stop             func()
	service, hits    int64
	other            int64 // another service
	app, app2, plan  int64
	unlimitedMetric  int64
	otherServiceApp  int64
	otherServiceHits int64
}

func startUsageHome(t *testing.T, dir string) (string, func()) {
	t.Helper()
	c, err := coordinator.New(coordinator.Config{Listen: "127.0.0.1:0", DataDir: dir, AccessToken: usageAdminToken,
		AgentToken: usageAgentToken, Logger: zerolog.Nop()})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			require.NoError(t, <-done)
		}
	}
	t.Cleanup(stop)
	return "http://" + c.Addr(), stop
}

func adminCreate(t *testing.T, base, path, form string) int64 {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+path, strings.NewReader(form))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("", usageAdminToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "POST %s: %s", path, b)
	var out map[string]struct {
		ID int64 `json:"id"`
	}
	require.NoError(t, json.Unmarshal(b, &out), "%s", b)
	for _, o := range out {
		return o.ID
	}
	t.Fatalf("POST %s: nothing created: %s", path, b)
	return 0
}

func hitsOf(t *testing.T, base string, service int64) int64 {
	t.Helper()
	var out struct {
		Metrics []struct {
			Metric struct {
				ID         int64  `json:"id"`
				SystemName string `json:"system_name"`
			} `json:"metric"`
		} `json:"metrics"`
	}
	getJSON(t, base+"/admin/api/services/"+s(service)+"/metrics.json?access_token="+usageAdminToken, http.StatusOK, &out)
	for _, m := range out.Metrics {
		if m.Metric.SystemName == "hits" {
			return m.Metric.ID
		}
	}
	t.Fatal("no hits metric")
	return 0
}

func s(id int64) string { return strconv.FormatInt(id, 10) }

func getJSON(t *testing.T, u string, status int, v any) []byte {
	t.Helper()
	resp, err := http.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	require.Equal(t, status, resp.StatusCode, "GET %s: %s", u, b)
	if v != nil {
		require.NoError(t, json.Unmarshal(b, v), "%s", b)
	}
	return b
}

func newUsageHome(t *testing.T) *usageHome {
	t.Helper()
	h := &usageHome{dir: t.TempDir()}
	h.url, h.stop = startUsageHome(t, h.dir)
	h.service = adminCreate(t, h.url, "/admin/api/services.json", "name=News&system_name=news&backend_version=1")
	h.hits = hitsOf(t, h.url, h.service)
	h.unlimitedMetric = adminCreate(t, h.url, "/admin/api/services/"+s(h.service)+"/metrics.json", "friendly_name=Bytes&unit=byte")
	account := adminCreate(t, h.url, "/admin/api/signup.json", "org_name=Acme&username=acme&email=a@example.com&password=secret123")
	h.plan = adminCreate(t, h.url, "/admin/api/services/"+s(h.service)+"/application_plans.json", "name=Basic")
	for period, v := range map[string]string{"minute": "5", "day": "100"} {
		adminCreate(t, h.url, "/admin/api/application_plans/"+s(h.plan)+"/metrics/"+s(h.hits)+"/limits.json", "period="+period+"&value="+v)
	}
	h.app = adminCreate(t, h.url, "/admin/api/accounts/"+s(account)+"/applications.json", "name=A&plan_id="+s(h.plan))
	h.app2 = adminCreate(t, h.url, "/admin/api/accounts/"+s(account)+"/applications.json", "name=B&plan_id="+s(h.plan))
	h.other = adminCreate(t, h.url, "/admin/api/services.json", "name=Other&system_name=other&backend_version=1")
	h.otherServiceHits = hitsOf(t, h.url, h.other)
	otherPlan := adminCreate(t, h.url, "/admin/api/services/"+s(h.other)+"/application_plans.json", "name=Other")
	h.otherServiceApp = adminCreate(t, h.url, "/admin/api/accounts/"+s(account)+"/applications.json", "name=C&plan_id="+s(otherPlan))
	return h
}

// postUsage posts body to /v1/usage with token and returns the status and body.
func postUsage(t *testing.T, base, token string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+registry.PathUsage, bytes.NewReader(body))
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// registerNews registers instance id with home as an instance of the news
// service (home takes usage only from instances placed in its service) and
// returns its credential, which its usage batches present.
func registerNews(t *testing.T, base, id string) string {
	t.Helper()
	c, err := client.New(client.Config{Address: base, Token: usageAgentToken})
	require.NoError(t, err)
	reply, err := c.Register(context.Background(), id, &registry.Registration{Service: "news", Address: "127.0.0.1", Port: 8080})
	require.NoError(t, err)
	return reply.Credential
}

// sendBatch registers the batch's instance and posts the batch.
func sendBatch(t *testing.T, base string, b registry.UsageBatch) registry.UsageReply {
	t.Helper()
	cred := registerNews(t, base, b.Instance)
	body, err := json.Marshal(b)
	require.NoError(t, err)
	code, out := postUsage(t, base, cred, body)
	require.Equal(t, http.StatusOK, code, "%s", out)
	var reply registry.UsageReply
	require.NoError(t, json.Unmarshal(out, &reply), "%s", out)
	return reply
}

func totalOf(reply registry.UsageReply, app, metric int64, period string) (int64, bool) {
	for _, t := range reply.Totals {
		if t.ApplicationID == app && t.MetricID == metric && t.Period == period {
			return t.Value, true
		}
	}
	return 0, false
}

func TestUsageBatchesAreCountedOnce(t *testing.T) {
	h := newUsageHome(t)
	now := time.Now().UTC()
	minute := now.Unix() / 60
	batch := registry.UsageBatch{ID: "inst-1-1", Instance: "inst-1", ServiceID: h.service, Entries: []registry.UsageEntry{
		{ApplicationID: h.app, MetricID: h.hits, Minute: minute, Delta: 3},
		{ApplicationID: h.app2, MetricID: h.hits, Minute: minute, Delta: 1},
		{ApplicationID: h.app, MetricID: h.unlimitedMetric, Minute: minute, Delta: 9},
	}}
	reply := sendBatch(t, h.url, batch)
	assert.False(t, reply.Duplicate)
	v, ok := totalOf(reply, h.app, h.hits, "day")
	require.True(t, ok, "%+v", reply)
	assert.EqualValues(t, 3, v)
	_, ok = totalOf(reply, h.app, h.unlimitedMetric, "day")
	assert.False(t, ok, "only limited metrics come back")
	_, ok = totalOf(reply, h.app, h.hits, "week")
	assert.False(t, ok, "only limited periods come back")
	day, _ := composition.PeriodBounds("day", now)
	for _, tot := range reply.Totals {
		if tot.Period == "day" {
			assert.True(t, day.Equal(tot.Start), "start is the current day's")
		}
	}
	assert.Len(t, reply.Totals, 4, "hits/minute and hits/day of two apps: %+v", reply.Totals)

	// a retry after a lost reply: duplicate, same totals
	again := sendBatch(t, h.url, batch)
	assert.True(t, again.Duplicate)
	v, _ = totalOf(again, h.app, h.hits, "day")
	assert.EqualValues(t, 3, v)

	// an empty batch polls the totals
	poll := sendBatch(t, h.url, registry.UsageBatch{ID: "inst-2-1", Instance: "inst-2", ServiceID: h.service})
	assert.False(t, poll.Duplicate)
	v, _ = totalOf(poll, h.app2, h.hits, "minute")
	assert.EqualValues(t, 1, v)

	// another agent's batch adds up
	batch2 := registry.UsageBatch{ID: "inst-2-2", Instance: "inst-2", ServiceID: h.service, Entries: []registry.UsageEntry{
		{ApplicationID: h.app, MetricID: h.hits, Minute: minute, Delta: 2}}}
	reply = sendBatch(t, h.url, batch2)
	v, _ = totalOf(reply, h.app, h.hits, "day")
	assert.EqualValues(t, 5, v)

	// the totals and the dedup survive a restart
	h.stop()
	h.url, h.stop = startUsageHome(t, h.dir)
	again = sendBatch(t, h.url, batch2)
	assert.True(t, again.Duplicate)
	v, _ = totalOf(again, h.app, h.hits, "day")
	assert.EqualValues(t, 5, v)

	// metrics
	metrics := string(getJSONRaw(t, h.url+"/metrics"))
	assert.Contains(t, metrics, `portolan_usage_batches_total{result="duplicate"} 1`)
	assert.Contains(t, metrics, `portolan_usage_batches_total{result="applied"} 0`+"\n"+``, "counters start again with the process")

	// analytics read the same counters
	var stats struct {
		Metric struct {
			SystemName string `json:"system_name"`
		} `json:"metric"`
		Period struct {
			Granularity string `json:"granularity"`
		} `json:"period"`
		Total  int64   `json:"total"`
		Values []int64 `json:"values"`
	}
	since := url.QueryEscape(now.Format("2006-01-02"))
	getJSON(t, h.url+"/stats/applications/"+s(h.app)+"/usage.json?metric_name=hits&period=day&since="+since+
		"&access_token="+usageAdminToken, http.StatusOK, &stats)
	assert.EqualValues(t, 5, stats.Total)
	assert.Equal(t, "hour", stats.Period.Granularity)
	require.Len(t, stats.Values, 24)
	assert.EqualValues(t, 5, stats.Values[now.Hour()])
	getJSON(t, h.url+"/stats/services/"+s(h.service)+"/usage.json?metric_name=hits&period=day&since="+since+
		"&access_token="+usageAdminToken, http.StatusOK, &stats)
	assert.EqualValues(t, 6, stats.Total, "the service counts both applications")
}

func getJSONRaw(t *testing.T, u string) []byte {
	t.Helper()
	resp, err := http.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return b
}

func TestUsageBatchBadInput(t *testing.T) {
	h := newUsageHome(t)
	cred := registerNews(t, h.url, "validating")
	minute := time.Now().Unix() / 60
	entry := func(app, metric int64) registry.UsageBatch {
		return registry.UsageBatch{ID: "bad-1", ServiceID: h.service, Entries: []registry.UsageEntry{
			{ApplicationID: h.app, MetricID: h.hits, Minute: minute, Delta: 1},
			{ApplicationID: app, MetricID: metric, Minute: minute, Delta: 1}}}
	}
	for _, tc := range []struct {
		name  string
		batch registry.UsageBatch
		want  string
	}{
		{"no id", registry.UsageBatch{ServiceID: h.service}, "id: a usage batch needs an id"},
		{"unknown service", registry.UsageBatch{ID: "x", ServiceID: 999999}, "service_id: unknown service 999999"},
		{"app of another service", entry(h.otherServiceApp, h.hits), "entries[1]: application " + s(h.otherServiceApp) + " is not of service " + s(h.service)},
		{"negative", registry.UsageBatch{ID: "x", ServiceID: h.service, Entries: []registry.UsageEntry{
			{ApplicationID: h.app, MetricID: h.hits, Minute: minute, Delta: -1}}}, "entries[0]: delta -1 is not within 0 and 1099511627776"},
		{"over 2^40", registry.UsageBatch{ID: "x", ServiceID: h.service, Entries: []registry.UsageEntry{
			{ApplicationID: h.app, MetricID: h.hits, Minute: minute, Delta: 1<<40 + 1}}}, "entries[0]: delta 1099511627777 is not within 0 and 1099511627776"},
		{"before 1970", registry.UsageBatch{ID: "x", ServiceID: h.service, Entries: []registry.UsageEntry{
			{ApplicationID: h.app, MetricID: h.hits, Minute: -1, Delta: 1}}}, "entries[0]: minute -1 is before 1970"},
		{"long id", registry.UsageBatch{ID: strings.Repeat("x", registry.MaxBatchIDLen+1), ServiceID: h.service}, "id: longer than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, err := json.Marshal(tc.batch)
			require.NoError(t, err)
			code, out := postUsage(t, h.url, cred, body)
			require.Equal(t, http.StatusUnprocessableEntity, code, "%s", out)
			var e struct{ Error string }
			require.NoError(t, json.Unmarshal(out, &e))
			assert.Contains(t, e.Error, tc.want)
		})
	}
	// nothing of a refused batch was counted, and its id is still free
	reply := sendBatch(t, h.url, registry.UsageBatch{ID: "bad-1", Instance: "bad", ServiceID: h.service})
	assert.False(t, reply.Duplicate)
	assert.Empty(t, reply.Totals)

	code, out := postUsage(t, h.url, cred, []byte(`{"id": "x", "entries": [`))
	assert.Equal(t, http.StatusBadRequest, code, "%s", out)
	assert.Contains(t, string(out), "not valid JSON")
	big := append([]byte(`{"id":"x","instance":"`), bytes.Repeat([]byte("a"), registry.MaxUsageBodyBytes)...)
	code, out = postUsage(t, h.url, cred, append(big, `"}`...))
	assert.Equal(t, http.StatusRequestEntityTooLarge, code, "%s", out)
	code, _ = postUsage(t, h.url, "", []byte(`{"id":"x"}`))
	assert.Equal(t, http.StatusUnauthorized, code)
	code, out = postUsage(t, h.url, "wrong", []byte(`{"id":"x"}`))
	assert.Equal(t, http.StatusUnauthorized, code)
	assert.NotContains(t, string(out), "wrong")
	resp, err := http.Get(h.url + registry.PathUsage)
	require.NoError(t, err)
	resp.Body.Close()
	assert.NotEqual(t, http.StatusOK, resp.StatusCode, "only POST")
}

func TestUsageAnalyticsParams(t *testing.T) {
	h := newUsageHome(t)
	base := h.url + "/stats/applications/" + s(h.app) + "/usage.json?"
	getJSON(t, base+"metric_name=hits&period=day&since=2026-01-01", http.StatusForbidden, nil)
	tok := "&access_token=" + usageAdminToken
	var stats struct {
		Period struct {
			Name        *string `json:"name"`
			Since       *string `json:"since"`
			Until       *string `json:"until"`
			Timezone    string  `json:"timezone"`
			Granularity string  `json:"granularity"`
		} `json:"period"`
		Values      []int64 `json:"values"`
		Application struct {
			ID   int64 `json:"id"`
			Plan struct {
				Name string `json:"name"`
			} `json:"plan"`
		} `json:"application"`
	}
	getJSON(t, base+"metric_name=hits&period=month&since=2026-02-01"+tok, http.StatusOK, &stats)
	assert.Equal(t, "day", stats.Period.Granularity)
	assert.Len(t, stats.Values, 28)
	assert.Equal(t, "2026-02-01T00:00:00Z", *stats.Period.Since)
	assert.Equal(t, "2026-02-28T23:59:59Z", *stats.Period.Until)
	assert.Equal(t, "Etc/UTC", stats.Period.Timezone)
	assert.Equal(t, h.app, stats.Application.ID)
	assert.Equal(t, "Basic", stats.Application.Plan.Name)
	getJSON(t, base+"metric_name=hits&since=2026-01-01&until=2026-12-31+23:59:59&granularity=month"+tok, http.StatusOK, &stats)
	assert.Len(t, stats.Values, 12)
	assert.Nil(t, stats.Period.Name)
	getJSON(t, base+"metric_name=hits&period=eternity"+tok, http.StatusOK, &stats)
	assert.Equal(t, []int64{0}, stats.Values)
	assert.Nil(t, stats.Period.Since)
	getJSON(t, base+"metric_name=hits&since=2026-01-01&until=2026-03-31+23:59:59&granularity=hour&timezone=UTC"+tok, http.StatusOK, &stats)
	assert.Len(t, stats.Values, 90*24)
	// porta: "Time range for the granularity must be less than 90 days"
	getJSON(t, base+"metric_name=hits&period=year&since=2026-01-01&granularity=hour&timezone=UTC"+tok, http.StatusBadRequest, nil)
	getJSON(t, base+"metric_name=nope&period=day&since=2026-01-01"+tok, http.StatusBadRequest, nil) // porta: "metric nope not found"
	getJSON(t, base+"metric_name=hits&period=fortnight&since=2026-01-01"+tok, http.StatusBadRequest, nil)
	getJSON(t, base+"metric_name=hits&period=day"+tok, http.StatusOK, nil) // porta: since defaults to now - period
	getJSON(t, base+"metric_name=hits&since=2020-01-01&until=2026-01-01&granularity=hour"+tok, http.StatusBadRequest, nil)
	getJSON(t, base+"metric_name=hits&period=day&since=2026-01-01&timezone=Nowhere"+tok, http.StatusBadRequest, nil)
	getJSON(t, h.url+"/stats/applications/999999/usage.json?period=day&since=2026-01-01"+tok, http.StatusNotFound, nil)
	getJSON(t, h.url+"/stats/services/"+s(h.service)+"/usage.json?period=day&since=2026-01-01"+tok, http.StatusOK, nil)
}

// Every parameter and enum value the Analytics API spec lists for the two
// usage endpoints is accepted.
func TestUsageAnalyticsSpecParameters(t *testing.T) {
	var spec struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Name   string `json:"name"`
				In     string `json:"in"`
				Schema struct {
					Enum []string `json:"enum"`
				} `json:"schema"`
			} `json:"parameters"`
		} `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(testenv.ThreescaleFile(t, "analytics_api.json"), &spec))
	h := newUsageHome(t)
	for path, id := range map[string]int64{
		"/stats/services/{service_id}/usage.{format}":         h.service,
		"/stats/applications/{application_id}/usage.{format}": h.app,
	} {
		op, ok := spec.Paths[path]["get"]
		require.True(t, ok, "the spec has GET %s", path)
		var periods, granularities, names []string
		for _, p := range op.Parameters {
			names = append(names, p.Name)
			switch p.Name {
			case "period":
				periods = p.Schema.Enum
			case "granularity":
				granularities = p.Schema.Enum
			}
		}
		assert.ElementsMatch(t, []string{"format", "access_token", strings.Trim(path[strings.Index(path, "{"):strings.Index(path, "}")+1], "{}"),
			"metric_name", "since", "period", "until", "granularity", "timezone", "skip_change"}, names)
		base := h.url + strings.NewReplacer("{service_id}", s(id), "{application_id}", s(id), "{format}", "json").Replace(path) +
			"?access_token=" + usageAdminToken + "&metric_name=hits&timezone=UTC&skip_change=true"
		require.NotEmpty(t, periods)
		for _, p := range periods {
			getJSON(t, base+"&period="+p+"&since=2026-03-01", http.StatusOK, nil)
		}
		require.NotEmpty(t, granularities)
		for _, g := range granularities {
			until := "&since=2026-03-01&until=2026-03-02+23:59:59"
			if g == "eternity" {
				until = ""
			}
			getJSON(t, base+"&granularity="+g+until, http.StatusOK, nil)
		}
	}
}
