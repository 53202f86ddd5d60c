package agent_test

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// A rate_limit fixed window of global scope holds across the agents of a
// service: each agent counts its requests, reports them home in its usage
// batches and takes home's totals back, as with plan limits. APIcast's README
// ("Per-gateway vs shared"): "make those 10 requests in total regardless of
// the number of APIcasts deployed" — APIcast through a shared Redis,
// Portolan through home. The count an agent sees is at most one report
// interval (1 s) old, so the test lets the reports go round between bursts.
func TestRateLimitGlobalWindowHoldsAcrossTwoAgents(t *testing.T) {
	co := testenv.StartCoordinator(t)
	sid, _ := countedService(t, co, "Limited", "limited")
	var p struct {
		Plan struct{ ID int64 } `json:"application_plan"`
	}
	adminCall(t, co, "POST", fmt.Sprintf("/admin/api/services/%d/application_plans.json", sid), "name=Open", &p)
	_, key := signUp(t, co, p.Plan.ID)

	// 6 requests an hour to /limited, counted cluster-wide.
	const limit = 6
	chain := fmt.Sprintf(`[
		{"name":"rate_limit","version":"builtin","enabled":true,"configuration":{"fixed_window_limiters":[
			{"key":{"name":"limited","scope":"global"},"count":%d,"window":3600,
			 "condition":{"operations":[{"left":"{{ uri }}","left_type":"liquid","op":"==","right":"/limited"}]}}]}},
		{"name":"apicast","version":"builtin","enabled":true,"configuration":{}}]`, limit)
	putPolicyChain(t, co, sid, chain)

	req, _ := http.NewRequest("POST", co.URL+"/admin/portolan/placements", bytes.NewBufferString(
		fmt.Sprintf(`{"name":"all","selector":{"service":"limitedapi"},"service_id":%d}`, sid)))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth("", co.Token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)

	start := func(name string) string {
		host, port := gwUpstream(t, name)
		gw := testenv.FreeAddr(t)
		a := testenv.StartAgent(t, co, "--service", "limitedapi", "--address", host, "--port", port,
			"--gateway-listen", gw, "--upstream", "http://"+net.JoinHostPort(host, port),
			"--heartbeat", "300ms", "--ttl", "1s", "--", "sleep", "120")
		a.ID()
		return "http://" + gw
	}
	gwA, gwB := start("a"), start("b")
	for _, gw := range []string{gwA, gwB} {
		require.Eventually(t, func() bool { return get(t, gw+"/articles?user_key="+key).status == http.StatusOK },
			15*time.Second, 50*time.Millisecond, "the gateway serves the service")
	}
	// Keep the bursts in one window of the hour.
	if now := time.Now().Unix(); now%3600 > 3600-40 {
		time.Sleep(time.Duration(3600-now%3600+1) * time.Second)
	}
	const settle = 3 * time.Second // a report interval each way, and then some

	ok := 0
	burst := func(gw string, n int) []int {
		var got []int
		for range n {
			s := get(t, gw+"/limited?user_key="+key).status
			if s == http.StatusOK {
				ok++
			}
			got = append(got, s)
		}
		return got
	}
	assert.Equal(t, []int{200, 200, 200, 200}, burst(gwA, 4), "agent A: 4 of the 6")
	time.Sleep(settle)
	assert.Equal(t, []int{200, 200, 429, 429}, burst(gwB, 4), "agent B knows A's 4 through home: 2 left")
	time.Sleep(settle)
	assert.Equal(t, []int{429}, burst(gwA, 1), "agent A knows B's 2 through home")
	assert.Equal(t, limit, ok, "the cluster let exactly the global limit through")
	assert.Equal(t, http.StatusOK, get(t, gwB+"/articles?user_key="+key).status, "requests outside the condition are not limited")
}
