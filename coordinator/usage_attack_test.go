package coordinator_test

import (
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/registry"
)

// An attacker holding only the agent token cannot write usage at all (it
// only registers), and an instance cannot write usage for a service it is
// not placed in.
func TestUsageFromAnUnregisteredOrForeignInstanceIsRefused(t *testing.T) {
	h := newUsageHome(t)
	minute := time.Now().Unix() / 60
	entries := []registry.UsageEntry{{ApplicationID: h.app, MetricID: h.hits, Minute: minute, Delta: 1}}
	token := usageAgentToken
	post := func(b registry.UsageBatch) (int, string) {
		body, err := json.Marshal(b)
		require.NoError(t, err)
		code, out := postUsage(t, h.url, token, body)
		return code, string(out)
	}
	code, out := post(registry.UsageBatch{ID: "ghost-1", Instance: "ghost", ServiceID: h.service, Entries: entries})
	assert.Equal(t, http.StatusForbidden, code, out)
	assert.Contains(t, out, "a join token can only register")

	// an instance of the news service may not count usage of another service
	token = registerNews(t, h.url, "news-1")
	otherEntries := []registry.UsageEntry{{ApplicationID: h.otherServiceApp, MetricID: h.otherServiceHits, Minute: minute, Delta: 1}}
	code, out = post(registry.UsageBatch{ID: "news-1-1", Instance: "news-1", ServiceID: h.other, Entries: otherEntries})
	assert.Equal(t, http.StatusForbidden, code, out)
	assert.Contains(t, out, "reports usage for its own service only")

	// nothing was counted
	reply := sendBatch(t, h.url, registry.UsageBatch{ID: "news-1-2", Instance: "news-1", ServiceID: h.service})
	assert.Empty(t, reply.Totals)
}

// A delta of 2^63-1 followed by 2 used to wrap the counter negative and lift
// the application's limits: deltas are bounded at 2^40, as 3scale's authrep.
func TestUsageDeltaCannotWrapTheCounter(t *testing.T) {
	h := newUsageHome(t)
	cred := registerNews(t, h.url, "news-1")
	minute := time.Now().Unix() / 60
	batch := func(id string, delta int64) []byte {
		b, err := json.Marshal(registry.UsageBatch{ID: id, Instance: "news-1", ServiceID: h.service,
			Entries: []registry.UsageEntry{{ApplicationID: h.app, MetricID: h.hits, Minute: minute, Delta: delta}}})
		require.NoError(t, err)
		return b
	}
	code, out := postUsage(t, h.url, cred, batch("news-1-1", math.MaxInt64))
	assert.Equal(t, http.StatusUnprocessableEntity, code, "%s", out)
	code, out = postUsage(t, h.url, cred, batch("news-1-2", 6))
	require.Equal(t, http.StatusOK, code, "%s", out)
	var reply registry.UsageReply
	require.NoError(t, json.Unmarshal(out, &reply))
	v, ok := totalOf(reply, h.app, h.hits, "minute")
	require.True(t, ok, "%+v", reply)
	assert.EqualValues(t, 6, v, "the refused delta added nothing")

	// the limit (5 a minute) still holds at home
	var found struct {
		Application struct {
			UserKey string `json:"user_key"`
		} `json:"application"`
	}
	getJSON(t, h.url+"/admin/api/applications/find.json?access_token="+usageAdminToken+"&application_id="+s(h.app), http.StatusOK, &found)
	require.NotEmpty(t, found.Application.UserKey)
	resp, err := http.Get(h.url + "/transactions/authorize.xml?" + url.Values{"service_token": {usageAdminToken},
		"service_id": {s(h.service)}, "user_key": {found.Application.UserKey}, "usage[hits]": {"1"}}.Encode())
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusConflict, resp.StatusCode, "over the minute's limit")
}
