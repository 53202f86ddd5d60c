package agent_test

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// The caching policy's "none" ("None: disables caching") through a real
// agent: the gateway serves while home answers its heartbeats and, once
// the coordinator is stopped and the TTL has passed, refuses with 503
// rather than authorize from what it last saw.
func TestCachingNoneRefusesOnceHomeStops(t *testing.T) {
	co := testenv.StartCoordinator(t)
	sid, _ := countedService(t, co, "Cached", "cached")
	var plan struct {
		Plan struct{ ID int64 } `json:"application_plan"`
	}
	adminCall(t, co, "POST", fmt.Sprintf("/admin/api/services/%d/application_plans.json", sid), "name=Open", &plan)
	_, key := signUp(t, co, plan.Plan.ID)
	chain := `[{"name":"caching","version":"builtin","configuration":{"caching_type":"none"},"enabled":true},` +
		`{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`
	putPolicyChain(t, co, sid, chain)
	req, _ := http.NewRequest("POST", co.URL+"/admin/portolan/placements", strings.NewReader(
		fmt.Sprintf(`{"name":"cached-pool","selector":{"service":"cachedapi"},"service_id":%d,"plan_ids":[%d]}`, sid, plan.Plan.ID)))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth("", co.Token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)

	host, port := gwUpstream(t, "cached-instance")
	gw := testenv.FreeAddr(t)
	testenv.StartAgent(t, co, "--service", "cachedapi", "--address", host, "--port", port,
		"--gateway-listen", gw, "--upstream", "http://"+net.JoinHostPort(host, port),
		"--heartbeat", "300ms", "--ttl", "1s", "--", "sleep", "120")
	target := "http://" + gw + "/articles?user_key=" + key
	require.Eventually(t, func() bool { return get(t, target).status == http.StatusOK }, 15*time.Second, 50*time.Millisecond,
		"served while home is reachable: %v", get(t, target))

	co.Stop()
	require.Eventually(t, func() bool {
		r := get(t, target)
		return r.status == http.StatusServiceUnavailable && strings.Contains(r.body, "caching policy (none)")
	}, 10*time.Second, 50*time.Millisecond, "refused once home is away: %v", get(t, target))
}
