package coordinator_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/registry"
)

// internalCall calls the internal API with the admin token as Basic password.
func internalCall(t *testing.T, base, method, path, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	require.NoError(t, err)
	req.SetBasicAuth("", usageAdminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

// Agents' usage batches raise events as the Service Management API's
// counts do: each application's first traffic, and an alert at an enabled
// alert limit; a re-sent batch counts nothing and raises nothing.
func TestAgentUsageBatchesRaiseBackendEvents(t *testing.T) {
	h := newUsageHome(t)
	var code int
	var body []byte
	for _, v := range []string{"50", "300"} {
		code, body = internalCall(t, h.url, http.MethodPost, "/internal/services/"+s(h.service)+"/alert_limits/", `{"alert_limit":{"value":`+v+`}}`)
		require.Equal(t, http.StatusCreated, code, "%s", body)
	}
	now := time.Now().UTC()
	batch := registry.UsageBatch{ID: "inst-a-1", Instance: "inst-a", ServiceID: h.service, Entries: []registry.UsageEntry{
		// 50 of 5 a minute: 1000 %, or, should home's minute have moved on,
		// 50 of 100 a day: 50 %
		{ApplicationID: h.app, MetricID: h.hits, Minute: now.Unix() / 60, Delta: 50},
		{ApplicationID: h.app2, MetricID: h.hits, Minute: now.Unix() / 60, Delta: 1},
	}}
	sendBatch(t, h.url, batch)
	sendBatch(t, h.url, batch)
	code, body = internalCall(t, h.url, http.MethodGet, "/internal/events/", "")
	require.Equal(t, http.StatusOK, code, "%s", body)
	var out struct {
		Events []struct {
			Type   string         `json:"type"`
			Object map[string]any `json:"object"`
		} `json:"events"`
	}
	require.NoError(t, json.Unmarshal(body, &out))
	var got []string
	for _, ev := range out.Events {
		got = append(got, ev.Type+" "+ev.Object["application_id"].(string))
	}
	app, app2 := s(h.app), s(h.app2)
	assert.Equal(t, []string{"first_traffic " + app, "first_daily_traffic " + app, "alert " + app,
		"first_traffic " + app2, "first_daily_traffic " + app2}, got)
	assert.Contains(t, []string{"hits per minute: 50/5", "hits per day: 50/100"}, out.Events[2].Object["limit"])
}
