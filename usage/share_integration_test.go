package usage_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/coordinator"
	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
)

// shareStatus is the part of apisonator's <status> document the test reads.
type shareStatus struct {
	Authorized bool `xml:"authorized"`
	Reports    []struct {
		Metric       string `xml:"metric,attr"`
		Period       string `xml:"period,attr"`
		CurrentValue int64  `xml:"current_value"`
	} `xml:"usage_reports>usage_report"`
}

// sm calls the Service Management API of co for the user key, and returns
// the status code and the hits counter of the eternity limit.
func sm(t *testing.T, co *testenv.Coordinator, op, service, userKey string, hits int) (int, int64) {
	t.Helper()
	q := url.Values{"service_token": {co.Token}, "service_id": {service}, "user_key": {userKey}}
	if hits > 0 {
		q.Set("usage[hits]", s(int64(hits)))
	}
	resp, err := http.Get(co.URL + "/transactions/" + op + ".xml?" + q.Encode())
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusConflict {
		return resp.StatusCode, -1
	}
	var st shareStatus
	require.NoError(t, xml.Unmarshal(b, &st), "%s", b)
	for _, r := range st.Reports {
		if r.Metric == "hits" && r.Period == "eternity" {
			return resp.StatusCode, r.CurrentValue
		}
	}
	t.Fatalf("no hits/eternity report: %s", b)
	return 0, 0
}

// Two coordinators on one Consul add up each other's usage: B's authrep and
// B's replies to agents count what A applied, and the limit holds across both.
func TestUsageCountersAddUpAcrossCoordinators(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: starts processes")
	}
	cs := testenv.StartConsul(t)
	args := []string{"--consul", cs.URL, "--consul-prefix", "usage-share/"}
	a := testenv.StartCoordinator(t, args...)
	b := testenv.StartCoordinator(t, args...)

	service := a.Create(t, "/admin/api/services.json", "name=News&system_name=news&backend_version=1")
	var metrics struct {
		Metrics []struct {
			Metric struct {
				ID         int64  `json:"id"`
				SystemName string `json:"system_name"`
			} `json:"metric"`
		} `json:"metrics"`
	}
	getJSON(t, a.URL+"/admin/api/services/"+service+"/metrics.json?access_token="+a.Token, http.StatusOK, &metrics)
	var hits int64
	for _, m := range metrics.Metrics {
		if m.Metric.SystemName == "hits" {
			hits = m.Metric.ID
		}
	}
	require.NotZero(t, hits)
	account := a.Create(t, "/admin/api/signup.json", "org_name=Acme&username=acme&email=a@example.com&password=secret123")
	plan := a.Create(t, "/admin/api/services/"+service+"/application_plans.json", "name=Basic")
	// eternity: no period boundary can reset the count mid-test
	a.Create(t, "/admin/api/application_plans/"+plan+"/metrics/"+s(hits)+"/limits.json", "period=eternity&value=10")
	appID := a.Create(t, "/admin/api/accounts/"+account+"/applications.json", "name=A&plan_id="+plan+"&user_key=shared-key")
	app, err := json.Number(appID).Int64()
	require.NoError(t, err)
	serviceID, err := json.Number(service).Int64()
	require.NoError(t, err)
	require.Eventually(t, func() bool { code, _ := sm(t, b, "authorize", service, "shared-key", 0); return code == http.StatusOK },
		10*time.Second, 20*time.Millisecond, "B serves the application")

	// Home takes usage only from instances placed in the service.
	news := &registry.Registration{Service: "news", Address: "127.0.0.1", Port: 8080}
	_, err = a.Home(t).Register(context.Background(), "agent-a", news)
	require.NoError(t, err)
	_, err = b.Home(t).Register(context.Background(), "agent-b", news)
	require.NoError(t, err)

	// An agent of A reports 4 hits; an authrep on A adds 2.
	_, err = a.Home(t).PostUsage(context.Background(), &registry.UsageBatch{ID: "agent-a-1", Instance: "agent-a", ServiceID: serviceID,
		Entries: []registry.UsageEntry{{ApplicationID: app, MetricID: hits, Minute: time.Now().Unix() / 60, Delta: 4}}})
	require.NoError(t, err)
	code, v := sm(t, a, "authrep", service, "shared-key", 2)
	require.Equal(t, http.StatusOK, code)
	require.EqualValues(t, 6, v)

	// B sees A's 6, in authorize and in its replies to agents.
	require.Eventually(t, func() bool { _, v := sm(t, b, "authorize", service, "shared-key", 0); return v == 6 },
		10*time.Second, 20*time.Millisecond, "B counts A's usage")
	eternity := func(co *testenv.Coordinator, batch string) int64 {
		reply, err := co.Home(t).PostUsage(context.Background(), &registry.UsageBatch{ID: batch, Instance: "agent-b", ServiceID: serviceID})
		require.NoError(t, err)
		v, _ := totalOf(*reply, app, hits, "eternity")
		return v
	}
	assert.EqualValues(t, 6, eternity(b, "agent-b-1"), "B's usage reply includes A's counts")

	// B admits up to the limit across both, then refuses.
	code, v = sm(t, b, "authrep", service, "shared-key", 3)
	require.Equal(t, http.StatusOK, code)
	assert.EqualValues(t, 9, v)
	code, v = sm(t, b, "authrep", service, "shared-key", 2)
	assert.Equal(t, http.StatusConflict, code, "6 on A + 3 on B + 2 > 10")
	assert.EqualValues(t, 9, v)

	// A counts B's usage too.
	require.Eventually(t, func() bool { _, v := sm(t, a, "authorize", service, "shared-key", 0); return v == 9 },
		10*time.Second, 20*time.Millisecond, "A counts B's usage")
	code, _ = sm(t, a, "authrep", service, "shared-key", 2)
	assert.Equal(t, http.StatusConflict, code)
	code, _ = sm(t, a, "authrep", service, "shared-key", 1)
	assert.Equal(t, http.StatusOK, code)
	require.Eventually(t, func() bool { return eternity(b, "agent-b-poll") == 10 },
		10*time.Second, 20*time.Millisecond, "B's replies follow A")

	// A restarted B keeps its id and its counters: nothing lost, nothing twice.
	idFile := filepath.Join(b.DataDir, coordinator.IDFile)
	id, err := os.ReadFile(idFile)
	require.NoError(t, err)
	b.Stop()
	b.Start()
	again, err := os.ReadFile(idFile)
	require.NoError(t, err)
	assert.Equal(t, string(id), string(again))
	require.Eventually(t, func() bool { _, v := sm(t, b, "authorize", service, "shared-key", 0); return v == 10 },
		10*time.Second, 20*time.Millisecond, "B after a restart")
	_, v = sm(t, a, "authorize", service, "shared-key", 0)
	assert.EqualValues(t, 10, v, "A after B's restart")
	code, _ = sm(t, b, "authrep", service, "shared-key", 1)
	assert.Equal(t, http.StatusConflict, code)
}

// The gateway's global rate limits (rate_limit with global: true) count
// across coordinators as plan limits do: each agent's home answers the
// window's count over every coordinator on the Consul.
func TestRateLimitWindowsAddUpAcrossCoordinators(t *testing.T) {
	cs := testenv.StartConsul(t) // skipped only under go test -short, which CI never passes
	args := []string{"--consul", cs.URL, "--consul-prefix", "limiters-share/"}
	a := testenv.StartCoordinator(t, args...)
	b := testenv.StartCoordinator(t, args...)
	service := a.Create(t, "/admin/api/services.json", "name=News&system_name=news&backend_version=1")
	serviceID, err := json.Number(service).Int64()
	require.NoError(t, err)
	news := &registry.Registration{Service: "news", Address: "127.0.0.1", Port: 8080}
	require.Eventually(t, func() bool {
		_, err := b.Home(t).Register(context.Background(), "agent-b", news)
		return err == nil
	}, 10*time.Second, 20*time.Millisecond, "B knows the service")
	_, err = a.Home(t).Register(context.Background(), "agent-a", news)
	require.NoError(t, err)

	window := int64(3600) // an hour: no window boundary mid-test
	start := time.Now().Unix() / window * window
	batches := 0
	// post sends a batch counting value in the window and returns the
	// window's count in the reply; -1 when home refused it (B may not know
	// the service yet).
	post := func(co *testenv.Coordinator, instance string, value int64) int64 {
		batches++
		var counts []registry.LimiterCount
		if value > 0 {
			counts = []registry.LimiterCount{{Key: "ip:127.0.0.1", Start: start, Window: window, Value: value}}
		}
		reply, err := co.Home(t).PostUsage(context.Background(), &registry.UsageBatch{ID: instance + "-" + s(int64(batches)),
			Instance: instance, ServiceID: serviceID, Limiters: counts})
		if err != nil {
			t.Log(err)
			return -1
		}
		for _, c := range reply.Limiters {
			if c.Key == "ip:127.0.0.1" && c.Start == start && c.Window == window {
				return c.Value
			}
		}
		return 0
	}

	assert.EqualValues(t, 5, post(a, "agent-a", 5))
	require.Eventually(t, func() bool { return post(b, "agent-b", 0) == 5 },
		10*time.Second, 50*time.Millisecond, "B answers A's count")
	assert.EqualValues(t, 8, post(b, "agent-b", 3), "B's own and A's")
	require.Eventually(t, func() bool { return post(a, "agent-a", 0) == 8 },
		10*time.Second, 50*time.Millisecond, "A answers B's count")
}

func s(id int64) string { return strconv.FormatInt(id, 10) }

func getJSON(t *testing.T, u string, status int, v any) {
	t.Helper()
	resp, err := http.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	require.Equal(t, status, resp.StatusCode, "GET %s: %s", u, b)
	require.NoError(t, json.Unmarshal(b, v), "%s", b)
}

func totalOf(reply registry.UsageReply, app, metric int64, period string) (int64, bool) {
	for _, t := range reply.Totals {
		if t.ApplicationID == app && t.MetricID == metric && t.Period == period {
			return t.Value, true
		}
	}
	return 0, false
}
