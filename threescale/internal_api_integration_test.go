package threescale_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// internalEvent is an event of apisonator's GET /internal/events/.
type internalEvent struct {
	ID        int64          `json:"id"`
	Type      string         `json:"type"`
	Timestamp string         `json:"timestamp"`
	Object    map[string]any `json:"object"`
}

func internalEvents(t *testing.T, co *testenv.Coordinator) []internalEvent {
	t.Helper()
	status, body := rawCall(t, co, http.MethodGet, "/internal/events/", "", "")
	require.Equal(t, http.StatusOK, status, "%s", body)
	var out struct {
		Status string          `json:"status"`
		Events []internalEvent `json:"events"`
	}
	require.NoError(t, json.Unmarshal(body, &out), "%s", body)
	assert.Equal(t, "found", out.Status)
	return out.Events
}

func alertsOf(evs []internalEvent) []internalEvent {
	var out []internalEvent
	for _, ev := range evs {
		if ev.Type == "alert" {
			out = append(out, ev)
		}
	}
	return out
}

func jsonOf(t *testing.T, status int, body []byte, want int) map[string]any {
	t.Helper()
	require.Equal(t, want, status, "%s", body)
	var out map[string]any
	require.NoError(t, json.Unmarshal(body, &out), "%s", body)
	return out
}

// A plan allows 10 hits a day; the service enables alert limits 50 and 100.
// Authreps raise one alert when the day's utilization reaches 50 % and one
// at 100 %, none in between, none for levels not enabled (150 % through a
// report), and none again after a restart; utilization answers the limits.
func TestInternalAPIRaisesEachEnabledAlertOncePerPeriod(t *testing.T) {
	// The test counts one UTC day's usage and its first traffic: started in
	// the day's last minute it would see the day (or month) change midway,
	// so it starts in the next one.
	if now := time.Now().UTC(); now.Add(time.Minute).Day() != now.Day() {
		time.Sleep(time.Until(now.Truncate(24 * time.Hour).Add(24*time.Hour + time.Second)))
	}
	f := newSMFixture(t)
	co := f.co
	plan := co.Create(t, "/admin/api/services/"+f.ids+"/application_plans.json", "name=Daily")
	hits := ""
	var metrics struct {
		Metrics []struct {
			Metric struct {
				ID         int64  `json:"id"`
				SystemName string `json:"system_name"`
			} `json:"metric"`
		} `json:"metrics"`
	}
	decodeCall(t, co, http.MethodGet, "/admin/api/services/"+f.ids+"/metrics.json", nil, http.StatusOK, &metrics)
	for _, m := range metrics.Metrics {
		if m.Metric.SystemName == "hits" {
			hits = s64(m.Metric.ID)
		}
	}
	co.Create(t, "/admin/api/services/"+f.ids+"/metrics.json", "friendly_name=Bytes&system_name=bytes&unit=byte")
	co.Create(t, "/admin/api/application_plans/"+plan+"/metrics/"+hits+"/limits.json", "period=day&value=10")
	co.Create(t, "/admin/api/application_plans/"+plan+"/metrics/"+hits+"/limits.json", "period=month&value=1000")
	app := co.Create(t, "/admin/api/accounts/"+f.account+"/applications.json",
		"name=Daily+reader&plan_id="+plan+"&application_id=daily-app&application_key=daily-key")
	base := "/internal/services/" + f.ids

	status, body := rawCall(t, co, http.MethodGet, base+"/alert_limits/", "", "")
	out := jsonOf(t, status, body, http.StatusOK)
	assert.Equal(t, []any{}, out["alert_limits"], "no alert limits by default, as in 3scale")
	for _, v := range []int64{50, 100} {
		status, body = rawCall(t, co, http.MethodPost, base+"/alert_limits/", "application/json", `{"alert_limit":{"value":`+s64(v)+`}}`)
		out = jsonOf(t, status, body, http.StatusCreated)
		assert.Equal(t, "created", out["status"])
		assert.Equal(t, map[string]any{"service_id": f.ids, "value": float64(v)}, out["alert_limit"])
	}
	status, body = rawCall(t, co, http.MethodGet, base+"/alert_limits", "", "")
	out = jsonOf(t, status, body, http.StatusOK)
	assert.Equal(t, []any{map[string]any{"service_id": f.ids, "value": float64(50)}, map[string]any{"service_id": f.ids, "value": float64(100)}},
		out["alert_limits"])

	authrep := func(want int) {
		t.Helper()
		resp, b := f.sm(t, http.MethodGet, "/transactions/authrep.xml", url.Values{"service_token": {co.Token}, "service_id": {f.ids},
			"app_id": {"daily-app"}, "app_key": {"daily-key"}, "usage[hits]": {"1"}}, nil)
		require.Equal(t, want, resp.StatusCode, "%s", b)
	}
	for range 4 {
		authrep(http.StatusOK)
	}
	evs := internalEvents(t, co)
	require.Len(t, evs, 2, "the first traffic and the first of the day, no alert below 50 %%: %+v", evs)
	assert.Equal(t, "first_traffic", evs[0].Type)
	assert.Equal(t, "first_daily_traffic", evs[1].Type)
	assert.Equal(t, map[string]any{"service_id": f.ids, "application_id": app, "timestamp": evs[0].Timestamp}, evs[0].Object)
	assert.Regexp(t, `^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$`, evs[0].Timestamp)

	authrep(http.StatusOK) // 5 of 10: 50 %
	alerts := alertsOf(internalEvents(t, co))
	require.Len(t, alerts, 1)
	assert.Equal(t, map[string]any{"id": float64(1), "utilization": float64(50), "max_utilization": 0.5,
		"application_id": app, "service_id": f.ids, "timestamp": alerts[0].Timestamp, "limit": "hits per day: 5/10"}, alerts[0].Object)
	for range 4 { // 60 % to 90 %: 50 is notified, 80 and 90 are not enabled
		authrep(http.StatusOK)
	}
	assert.Len(t, alertsOf(internalEvents(t, co)), 1, "50 %% is raised once, 80 and 90 are not enabled")
	authrep(http.StatusOK) // 10 of 10: 100 %
	authrep(http.StatusConflict)
	alerts = alertsOf(internalEvents(t, co))
	require.Len(t, alerts, 2, "100 %% is raised once; a refused call counts nothing")
	assert.Equal(t, float64(100), alerts[1].Object["utilization"])
	assert.Equal(t, 1.0, alerts[1].Object["max_utilization"])
	assert.Equal(t, "hits per day: 10/10", alerts[1].Object["limit"])
	assert.Equal(t, float64(2), alerts[1].Object["id"])

	report := func(metric, n string) {
		t.Helper()
		resp, b := f.sm(t, http.MethodPost, "/transactions.xml", url.Values{"service_token": {co.Token}, "service_id": {f.ids},
			"transactions[0][app_id]": {"daily-app"}, "transactions[0][usage][" + metric + "]": {n}}, nil)
		require.Equal(t, http.StatusAccepted, resp.StatusCode, "%s", b)
	}
	report("hits", "5") // 150 %: not enabled
	assert.Len(t, alertsOf(internalEvents(t, co)), 2, "150 %% is not an enabled alert limit")

	status, body = rawCall(t, co, http.MethodGet, base+"/applications/"+app+"/utilization/", "", "")
	out = jsonOf(t, status, body, http.StatusOK)
	assert.Equal(t, "found", out["status"])
	assert.Equal(t, []any{
		map[string]any{"period": "month", "metric_name": "hits", "max_value": float64(1000), "current_value": float64(15)},
		map[string]any{"period": "day", "metric_name": "hits", "max_value": float64(10), "current_value": float64(15)},
	}, out["utilization"], "apisonator's order: by metric, then the longer period first")
	status, body = rawCall(t, co, http.MethodGet, base+"/applications/daily-app/utilization/", "", "")
	assert.Equal(t, out, jsonOf(t, status, body, http.StatusOK), "an app_id application is found by its application_id too")

	before := internalEvents(t, co)
	co.Stop()
	co.Start()
	assert.Equal(t, before, internalEvents(t, co), "events survive a restart")
	report("bytes", "1") // counted again at 150 %, 100 % already notified
	assert.Equal(t, before, internalEvents(t, co), "nothing is raised again after a restart: not the day's first traffic, not 100 %%")

	status, body = rawCall(t, co, http.MethodDelete, "/internal/events/"+s64(before[0].ID), "", "")
	assert.Equal(t, "deleted", jsonOf(t, status, body, http.StatusOK)["status"])
	status, body = rawCall(t, co, http.MethodDelete, "/internal/events/"+s64(before[0].ID), "", "")
	assert.Equal(t, map[string]any{"status": "not_found", "error": "event not found"}, jsonOf(t, status, body, http.StatusNotFound))
	status, body = rawCall(t, co, http.MethodDelete, "/internal/events/", "application/json", `{"upto_id":`+s64(before[2].ID)+`}`)
	assert.Equal(t, map[string]any{"status": "deleted", "num_events": float64(2)}, jsonOf(t, status, body, http.StatusOK))
	assert.Equal(t, before[3:], internalEvents(t, co))
}

// Alert limits take only apisonator's values, exactly written; deleting one
// not enabled is apisonator's 404; the service must exist to keep them.
func TestInternalAPIAlertLimitErrorsAreApisonators(t *testing.T) {
	co := testenv.StartCoordinator(t)
	svc := co.Create(t, "/admin/api/services.json", "name=Alerts&system_name=alerts")
	base := "/internal/services/" + svc + "/alert_limits/"
	for _, body := range []string{`{"alert_limit":{"value":"3941412410"}}`, `{"alert_limit":{}}`, `{"alert_limit":{"value":80.0}}`,
		`{"alert_limit":{"value":0}}`, `{"alert_limit":{"value":"abc"}}`} {
		status, b := rawCall(t, co, http.MethodPost, base, "application/json", body)
		assert.Equal(t, map[string]any{"error": "alert limit is invalid"}, jsonOf(t, status, b, http.StatusBadRequest), "POST %s", body)
	}
	status, b := rawCall(t, co, http.MethodPost, base, "application/x-www-form-urlencoded", "alert_limit%5Bvalue%5D=80")
	assert.Equal(t, "created", jsonOf(t, status, b, http.StatusCreated)["status"], "a form body works too")
	status, b = rawCall(t, co, http.MethodDelete, base+"90", "", "")
	assert.Equal(t, map[string]any{"status": "not_found", "error": "alert limit not found"}, jsonOf(t, status, b, http.StatusNotFound))
	status, b = rawCall(t, co, http.MethodDelete, base+"80", "", "")
	assert.Equal(t, map[string]any{"status": "deleted"}, jsonOf(t, status, b, http.StatusOK))
	status, b = rawCall(t, co, http.MethodPost, "/internal/services/999999/alert_limits/", "application/json", `{"alert_limit":{"value":50}}`)
	assert.Equal(t, map[string]any{"status": "not_found", "error": "service not found"}, jsonOf(t, status, b, http.StatusNotFound))
	status, b = rawCall(t, co, http.MethodGet, "/internal/services/"+svc+"/applications/999999/utilization/", "", "")
	assert.Equal(t, map[string]any{"status": "not_found", "error": "application not found"}, jsonOf(t, status, b, http.StatusNotFound))
	status, b = rawCall(t, co, http.MethodGet, "/internal/services/999999/applications/1/utilization/", "", "")
	assert.Equal(t, map[string]any{"status": "not_found", "error": "service not found"}, jsonOf(t, status, b, http.StatusNotFound))
	status, b = rawCall(t, co, http.MethodGet, "/internal/nothing/here", "", "")
	assert.Equal(t, map[string]any{"status": "not_found", "error": "Not found"}, jsonOf(t, status, b, http.StatusNotFound))
}

// The internal API wants an access token with scope account_management
// (rw to write), as apisonator wants its Basic credentials.
func TestInternalAPIRefusesCallsWithoutAToken(t *testing.T) {
	co := testenv.StartCoordinator(t)
	token := func(permission, scope string) string {
		var v struct {
			AccessToken struct {
				Value string `json:"value"`
			} `json:"access_token"`
		}
		decodeCall(t, co, http.MethodPost, "/admin/api/personal/access_tokens.json",
			url.Values{"name": {scope + permission}, "permission": {permission}, "scopes[]": {scope}}, http.StatusCreated, &v)
		return v.AccessToken.Value
	}
	call := func(method, path, tok string) int {
		req, err := http.NewRequest(method, co.URL+path, strings.NewReader(`{"alert_limit":{"value":50}}`))
		require.NoError(t, err)
		req.SetBasicAuth("", tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	svc := co.Create(t, "/admin/api/services.json", "name=Scoped&system_name=scoped")
	ro, stats := token("ro", "account_management"), token("ro", "stats")
	assert.Equal(t, http.StatusOK, call(http.MethodGet, "/internal/services/"+svc+"/alert_limits/", ro), "a read-only token reads")
	assert.Equal(t, http.StatusForbidden, call(http.MethodPost, "/internal/services/"+svc+"/alert_limits/", ro), "and does not write")
	assert.Equal(t, http.StatusForbidden, call(http.MethodGet, "/internal/events/", stats), "a stats token is not enough")
	assert.Equal(t, http.StatusCreated, call(http.MethodPost, "/internal/services/"+svc+"/alert_limits/", co.Token))
	for _, path := range []string{"/internal/events/", "/internal/services/1/alert_limits/", "/internal/services/1/applications/1/utilization/"} {
		resp, err := http.Get(co.URL + path)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, path)
		assert.Contains(t, resp.Header.Get("WWW-Authenticate"), "Basic", path)
		req, err := http.NewRequest(http.MethodGet, co.URL+path, nil)
		require.NoError(t, err)
		req.SetBasicAuth("", "not-the-token")
		resp, err = http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "a wrong token: %s", path)
	}
}
