package agent_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// getReferred is get with a Referer header ("" sends none).
func getReferred(t *testing.T, url, referer string) reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	if referer != "" {
		req.Header.Set("Referer", referer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return reply{0, err.Error()}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, string(b)}
}

// Referrer filters made through the 3scale API are enforced by the agent's
// gateway, from the signed view home sends it: on a service with
// referrer_filters_required whose chain has 3scale_referrer, an
// application's calls must come from one of its filters (the Referer
// header); without the policy no referrer is sent, so an application with
// filters is refused, as apisonator refuses APIcast's calls; switching the
// requirement off reaches the gateway with the next revision.
func TestGatewayEnforcesReferrerFiltersEndToEnd(t *testing.T) {
	co := testenv.StartCoordinator(t)
	sid, _ := countedService(t, co, "Web", "webapi")
	var p struct {
		Plan struct{ ID int64 } `json:"application_plan"`
	}
	adminCall(t, co, "POST", fmt.Sprintf("/admin/api/services/%d/application_plans.json", sid), "name=Basic", &p)
	var signup struct {
		Account struct{ ID int64 } `json:"account"`
	}
	adminCall(t, co, "POST", "/admin/api/signup.json", "org_name=Acme&username=alice&email=alice@example.com&password=s3cret-pass", &signup)
	acct := signup.Account.ID
	type app struct {
		ID      int64
		UserKey string `json:"user_key"`
	}
	newApp := func(name string) app {
		var a struct {
			App app `json:"application"`
		}
		adminCall(t, co, "POST", fmt.Sprintf("/admin/api/accounts/%d/applications.json", acct), fmt.Sprintf("name=%s&plan_id=%d", name, p.Plan.ID), &a)
		return a.App
	}
	web, server := newApp("web"), newApp("server")
	for _, f := range []string{"*.example.com", "10.0.0.1"} {
		adminCall(t, co, "POST", fmt.Sprintf("/admin/api/accounts/%d/applications/%d/referrer_filters.json", acct, web.ID), "referrer_filter="+f, nil)
	}
	adminCall(t, co, "PUT", fmt.Sprintf("/admin/api/services/%d.json", sid), "referrer_filters_required=true", nil)
	putPolicyChain(t, co, sid, `[{"name":"3scale_referrer","version":"builtin","enabled":true,"configuration":{}},
		{"name":"apicast","version":"builtin","enabled":true,"configuration":{}}]`)

	host, port := gwUpstream(t, "web-instance")
	gw := testenv.FreeAddr(t)
	agent := testenv.StartAgent(t, co, "--service", "webapi", "--address", host, "--port", port,
		"--gateway-listen", gw, "--upstream", "http://"+net.JoinHostPort(host, port),
		"--heartbeat", "300ms", "--ttl", "1s", "--", "sleep", "120")
	webURL := "http://" + gw + "/articles?user_key=" + web.UserKey
	require.Eventually(t, func() bool { return getReferred(t, webURL, "www.example.com") == reply{200, "web-instance"} },
		10*time.Second, 20*time.Millisecond, "the gateway serves the web app from an allowed referrer")

	assert.Equal(t, reply{200, "web-instance"}, getReferred(t, webURL, "10.0.0.1"))
	assert.Equal(t, reply{200, "web-instance"}, getReferred(t, webURL, "*"), "apisonator's bypass")
	assert.Equal(t, reply{403, "Authentication failed\n"}, getReferred(t, webURL, "evil.org"))
	assert.Equal(t, reply{403, "Authentication failed\n"}, getReferred(t, webURL, "example.com"))
	assert.Equal(t, reply{403, "Authentication failed\n"}, getReferred(t, webURL, ""), "no Referer: the referrer is missing")
	serverURL := "http://" + gw + "/articles?user_key=" + server.UserKey
	assert.Equal(t, reply{200, "web-instance"}, getReferred(t, serverURL, ""), "an application without filters needs no referrer")
	assert.Equal(t, reply{200, "web-instance"}, getReferred(t, serverURL, "evil.org"))
	m := get(t, "http://"+agent.API+"/metrics").body
	assert.Contains(t, m, `portolan_agent_gateway_requests_total{result="referrer_not_allowed"} 3`)

	putPolicyChain(t, co, sid, `[{"name":"apicast","version":"builtin","enabled":true,"configuration":{}}]`)
	require.Eventually(t, func() bool { return getReferred(t, webURL, "www.example.com") == reply{403, "Authentication failed\n"} },
		10*time.Second, 20*time.Millisecond, "without 3scale_referrer no referrer is sent: the filtered app is refused")
	assert.Equal(t, reply{200, "web-instance"}, getReferred(t, serverURL, "evil.org"), "an application without filters still passes")

	adminCall(t, co, "PUT", fmt.Sprintf("/admin/api/services/%d.json", sid), "referrer_filters_required=false", nil)
	require.Eventually(t, func() bool { return getReferred(t, webURL, "evil.org") == reply{200, "web-instance"} },
		10*time.Second, 20*time.Millisecond, "without the requirement, the filters are not checked")
}
