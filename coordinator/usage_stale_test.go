package coordinator_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/registry"
)

// A batch holding usage of an application deleted since the agent counted
// it, or of a metric no longer the service's, is applied without those
// entries: the live applications' usage counts. A malformed entry of a
// deleted application still refuses the batch.
func TestBatchWithADeletedApplicationKeepsTheOthersUsage(t *testing.T) {
	h := newUsageHome(t)
	cred := registerNews(t, h.url, "news-stale-1")
	deleteApplication(t, h.url, h.app2)

	minute := time.Now().Unix() / 60
	code, reply, out := postBatch(t, h.url, cred, registry.UsageBatch{ID: "news-stale-1-1", Instance: "news-stale-1",
		ServiceID: h.service, Entries: []registry.UsageEntry{
			{ApplicationID: h.app, MetricID: h.hits, Minute: minute, Delta: 3},
			{ApplicationID: h.app2, MetricID: h.hits, Minute: minute, Delta: 1},
			{ApplicationID: h.app, MetricID: 777777, Minute: minute, Delta: 1},
			{ApplicationID: h.app, MetricID: h.otherServiceHits, Minute: minute, Delta: 1},
		}})
	require.Equal(t, http.StatusOK, code, "the live application's 3 hits are refused with the deleted one's: %s", out)
	v, _ := totalOf(reply, h.app, h.hits, "minute")
	require.EqualValues(t, 3, v)

	code, _, out = postBatch(t, h.url, cred, registry.UsageBatch{ID: "news-stale-1-2", Instance: "news-stale-1",
		ServiceID: h.service, Entries: []registry.UsageEntry{
			{ApplicationID: h.app, MetricID: h.hits, Minute: minute, Delta: 1},
			{ApplicationID: h.app2, MetricID: h.hits, Minute: minute, Delta: -1},
		}})
	require.Equal(t, http.StatusUnprocessableEntity, code, out)
	require.Contains(t, out, "entries[1]: delta -1")
}

// deleteApplication deletes an application through the Account Management
// API, finding its account first.
func deleteApplication(t *testing.T, base string, app int64) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+"/admin/api/applications/find.json?application_id="+s(app), nil)
	require.NoError(t, err)
	req.SetBasicAuth("", usageAdminToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var got struct {
		Application struct {
			AccountID json.Number `json:"user_account_id"`
		} `json:"application"`
	}
	require.NoError(t, json.Unmarshal(b, &got), "%s", b)
	req, err = http.NewRequest(http.MethodDelete, base+"/admin/api/accounts/"+got.Application.AccountID.String()+
		"/applications/"+s(app)+".json", nil)
	require.NoError(t, err)
	req.SetBasicAuth("", usageAdminToken)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "account %q from %s", got.Application.AccountID, b)
}
