package coordinator

import (
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
)

// Applications come and go; home's memory of usage must go with them. N
// applications are created, each has usage reported through the Service
// Management API, and all but one are deleted: home lets their counters go
// from memory (eternity's never end by themselves), also after a restart
// (usage.db still holds them), and the live one's count is intact.
func TestDeletedApplicationsLeaveHomesUsageMemory(t *testing.T) {
	const token = "deleted-apps-admin-token-0123456789"
	dir := t.TempDir()
	start := func() (*Coordinator, string, func()) {
		c, err := New(Config{Listen: "127.0.0.1:0", DataDir: dir, AccessToken: token, Logger: zerolog.Nop()})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx) }()
		stop := func() { cancel(); require.NoError(t, <-done) }
		return c, "http://" + c.Addr(), stop
	}
	c, base, stop := start()
	call := func(method, path string, form url.Values, want int) map[string]json.RawMessage {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(form.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("", token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		require.Equal(t, want, resp.StatusCode, "%s %s: %s", method, path, b)
		var out map[string]json.RawMessage
		_ = json.Unmarshal(b, &out)
		return out
	}
	id := func(out map[string]json.RawMessage) string {
		for _, v := range out {
			var o struct{ ID int64 }
			require.NoError(t, json.Unmarshal(v, &o))
			return strconv.FormatInt(o.ID, 10)
		}
		t.Fatal("nothing created")
		return ""
	}
	svc := id(call(http.MethodPost, "/admin/api/services.json", url.Values{"name": {"Churn"}, "system_name": {"churn"}}, http.StatusCreated))
	plan := id(call(http.MethodPost, "/admin/api/services/"+svc+"/application_plans.json", url.Values{"name": {"P"}}, http.StatusCreated))
	acct := id(call(http.MethodPost, "/admin/api/signup.json", url.Values{"org_name": {"Org"}, "username": {"churn"},
		"email": {"churn@example.com"}, "password": {"s3cret-pass"}}, http.StatusCreated))
	const n = 20
	apps := make([]string, n)
	form := url.Values{"provider_key": {token}, "service_id": {svc}}
	for i := range apps {
		out := call(http.MethodPost, "/admin/api/accounts/"+acct+"/applications.json",
			url.Values{"name": {"app" + strconv.Itoa(i)}, "plan_id": {plan}}, http.StatusCreated)
		apps[i] = id(out)
		var a struct {
			UserKey string `json:"user_key"`
		}
		require.NoError(t, json.Unmarshal(out["application"], &a))
		require.NotEmpty(t, a.UserKey, "application %s has a user_key", apps[i])
		form.Set("transactions["+strconv.Itoa(i)+"][user_key]", a.UserKey)
		form.Set("transactions["+strconv.Itoa(i)+"][usage][hits]", "2")
	}
	req, err := http.NewRequest(http.MethodPost, base+"/transactions.xml", strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode, "report: %s", b)
	require.Equal(t, n, c.usage.Held(), "every application with usage is held")

	for _, app := range apps[1:] {
		call(http.MethodDelete, "/admin/api/accounts/"+acct+"/applications/"+app+".json", nil, http.StatusOK)
	}
	live, _ := strconv.ParseInt(apps[0], 10, 64)
	hits := c.store.Snapshot().ServiceMetricIDs(mustID(t, svc))
	require.Len(t, hits, 1)
	var metric int64
	for m := range hits {
		metric = m
	}
	require.Eventually(t, func() bool { return c.usage.Held() == 1 }, 5*time.Second, 20*time.Millisecond,
		"the %d deleted applications leave memory; held: %d", n-1, c.usage.Held())
	assert.EqualValues(t, 2, c.usage.Value(live, metric, "eternity", time.Time{}), "the live application's count stays")
	stop()

	c, _, stop = start()
	defer stop()
	require.Eventually(t, func() bool { return c.usage.Held() == 1 }, 5*time.Second, 20*time.Millisecond,
		"after a restart, usage.db's counters of deleted applications are not loaded back for good; held: %d", c.usage.Held())
	assert.EqualValues(t, 2, c.usage.Value(live, metric, "eternity", time.Time{}), "the live application's count survives the restart")
}

func mustID(t *testing.T, s string) int64 {
	t.Helper()
	v, err := strconv.ParseInt(s, 10, 64)
	require.NoError(t, err)
	return v
}
