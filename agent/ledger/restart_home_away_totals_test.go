package ledger

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// An agent restarted on its cache dir while home is away enforces home's
// last totals, plan limits and global rate-limit windows alike, not only
// its own spooled usage. README ("Usage and limits"): "checks a plan's
// limits against home's last cluster-wide total + its own usage home has
// not seen yet"; "A partitioned agent enforces home's last totals plus its
// own usage"; "Agents keep the last composition in --cache-dir, so one
// restarted while home is down serves it"; global rate limits "go the same
// way". And after a kill -9 with home still away, the journal's requests
// count once toward the limit: "at a restart, a leftover journal becomes a
// batch".
func TestAgentRestartedWhileHomeIsAwayEnforcesHomesLastTotals(t *testing.T) {
	co := testenv.StartCoordinator(t)
	num := func(s string) int64 { n, err := strconv.ParseInt(s, 10, 64); require.NoError(t, err); return n }
	const window, dayLimit = 3, 10
	chain := fmt.Sprintf(`[
		{"name":"rate_limit","version":"builtin","enabled":true,"configuration":{"fixed_window_limiters":[
			{"key":{"name":"limited","scope":"global"},"count":%d,"window":86400,
			 "condition":{"operations":[{"left":"{{ uri }}","left_type":"liquid","op":"==","right":"/limited"}]}}]}},
		{"name":"apicast","version":"builtin","enabled":true,"configuration":{}}]`, window)
	svc := num(co.Create(t, "/admin/api/services.json", "name=Rst&system_name=rst&backend_version=1"))
	hits := num(co.Create(t, fmt.Sprintf("/admin/api/services/%d/metrics.json", svc), "friendly_name=Calls&system_name=calls&unit=call"))
	co.Create(t, fmt.Sprintf("/admin/api/services/%d/proxy/mapping_rules.json", svc), fmt.Sprintf("http_method=GET&pattern=/&delta=1&metric_id=%d", hits))
	plan := num(co.Create(t, fmt.Sprintf("/admin/api/services/%d/application_plans.json", svc), "name=Metered"))
	co.Create(t, fmt.Sprintf("/admin/api/application_plans/%d/metrics/%d/limits.json", plan, hits), fmt.Sprintf("period=day&value=%d", dayLimit))
	acct := num(co.Create(t, "/admin/api/signup.json", fmt.Sprintf("org_name=Rst&username=rst&email=rst@example.com&password=s3cret-pass&application_plan_id=%d", plan)))
	admin := func(method, path, form string) string {
		req, err := http.NewRequest(method, co.URL+path, strings.NewReader(form))
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
	admin(http.MethodPut, fmt.Sprintf("/admin/api/services/%d/proxy/policies.json", svc), "policies_config="+url.QueryEscape(chain))
	userKey := func() string {
		b := admin(http.MethodPost, fmt.Sprintf("/admin/api/accounts/%d/applications.json", acct), fmt.Sprintf("name=a%d&plan_id=%d", time.Now().UnixNano(), plan))
		key := between(b, `"user_key":"`, `"`)
		require.NotEmpty(t, key, "%s", b)
		return key
	}
	limitedKey := userKey() // counted in the global window
	meteredKey := userKey() // its day's limit reached at home
	spareKey := userKey()   // used by this agent alone
	co.Create(t, "/admin/portolan/placements", fmt.Sprintf(`{"name":"rst-pool","selector":{"service":"rstapi"},"service_id":%d}`, svc))

	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "up") }))
	t.Cleanup(up.Close)
	host, port, _ := net.SplitHostPort(strings.TrimPrefix(up.URL, "http://"))
	cacheDir := filepath.Join(t.TempDir(), "cache")
	startAgent := func() (*testenv.Agent, string) {
		gw := testenv.FreeAddr(t)
		a := testenv.StartAgent(t, co, "--service", "rstapi", "--address", host, "--port", port,
			"--gateway-listen", gw, "--upstream", up.URL, "--cache-dir", cacheDir,
			"--heartbeat", "300ms", "--ttl", "1s", "--", "sleep", "300")
		return a, "http://" + gw
	}
	status := func(u string) int {
		resp, err := http.Get(u)
		if err != nil {
			return 0
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode
	}
	burst := func(u string, n int) []int {
		var got []int
		for range n {
			got = append(got, status(u))
		}
		return got
	}
	homeCount := func(key string) string {
		resp, err := http.Get(fmt.Sprintf("%s/transactions/authorize.xml?service_token=%s&service_id=%d&user_key=%s", co.URL, co.Token, svc, url.QueryEscape(key)))
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return between(string(b), "<current_value>", "</current_value>")
	}
	if now := time.Now().UTC(); now.Hour() == 23 && now.Minute() >= 58 {
		t.Fatalf("too close to the end of the UTC day (%s) for a day limit: run again in a few minutes", now)
	}

	a, gw := startAgent()
	limited, metered, spare := gw+"/limited?user_key="+limitedKey, gw+"/articles?user_key="+meteredKey, gw+"/articles?user_key="+spareKey
	require.Eventually(t, func() bool { return status(spare) == http.StatusOK }, 20*time.Second, 50*time.Millisecond, "the gateway serves")
	assert.Equal(t, []int{200, 200, 200, 429}, burst(limited, window+1), "the global window, home reachable")
	// Others' usage, at home: the metered application's day is used up.
	resp, err := http.Get(fmt.Sprintf("%s/transactions/authrep.xml?service_token=%s&service_id=%d&user_key=%s&usage%%5Bcalls%%5D=%d",
		co.URL, co.Token, svc, url.QueryEscape(meteredKey), dayLimit))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "authrep at home")
	require.Eventually(t, func() bool { return status(metered) == http.StatusTooManyRequests }, 10*time.Second, 50*time.Millisecond,
		"the agent learns home's total of the metered application")
	// The window's requests are acknowledged: home counts them and their batch left the spool.
	require.Eventually(t, func() bool {
		left, _ := filepath.Glob(filepath.Join(cacheDir, usageDir, "*"+batchSuffix))
		return homeCount(limitedKey) == strconv.Itoa(window) && len(left) == 0
	}, 10*time.Second, 50*time.Millisecond, "the agent's usage acknowledged by home")

	co.Stop()
	a.Kill9()
	_, _ = a.Wait(10 * time.Second)
	a, gw = startAgent()
	limited, metered, spare = gw+"/limited?user_key="+limitedKey, gw+"/articles?user_key="+meteredKey, gw+"/articles?user_key="+spareKey
	require.Eventually(t, func() bool { return status(spare) == http.StatusOK }, 20*time.Second, 50*time.Millisecond,
		"the restarted agent serves from its cache while home is away")
	assert.Equal(t, http.StatusTooManyRequests, status(metered),
		"the metered application's day is used up at home (home's last total %d of %d): the restarted agent must not admit it again", dayLimit, dayLimit)
	assert.Equal(t, http.StatusTooManyRequests, status(limited),
		"the global window holds %d of %d at home: the restarted agent must not admit it again", window, window)

	// kill -9 with home still away: the spare application's journal counts once.
	// spare: 1 request at home before it went away, 1 at this start, 4 now.
	assert.Equal(t, []int{200, 200, 200, 200}, burst(spare, 4), "spare: 6 of %d", dayLimit)
	a.Kill9()
	_, _ = a.Wait(10 * time.Second)
	_, gw = startAgent()
	metered, spare = gw+"/articles?user_key="+meteredKey, gw+"/articles?user_key="+spareKey
	require.Eventually(t, func() bool { return status(spare) == http.StatusOK }, 20*time.Second, 50*time.Millisecond,
		"the agent restarted after kill -9 serves from its cache")
	// 7 with this start's: 3 left, had the journal counted once.
	assert.Equal(t, []int{200, 200, 200, 429}, burst(spare, 4), "spare: 7 counted once, 3 left of %d", dayLimit)
	assert.Equal(t, http.StatusTooManyRequests, status(metered), "still home's last total after a second restart")

	co.Start()
	require.Eventually(t, func() bool { return homeCount(spareKey) == strconv.Itoa(dayLimit) }, 20*time.Second, 100*time.Millisecond,
		"home counts each of the spare application's %d requests once", dayLimit)
	assert.Equal(t, strconv.Itoa(dayLimit), homeCount(spareKey), "home's count of the spare application")
}

// between returns the text of s between the first from and the next to after it.
func between(s, from, to string) string {
	_, rest, ok := strings.Cut(s, from)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, to)
	return v
}
