package agent_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// adminCall sends a 3scale API request with the coordinator's access token
// and decodes the JSON answer into out (when not nil).
func adminCall(t *testing.T, co *testenv.Coordinator, method, path, form string, out any) {
	t.Helper()
	req, err := http.NewRequest(method, co.URL+path, strings.NewReader(form))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("", co.Token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	require.Less(t, resp.StatusCode, 300, "%s %s: %s", method, path, b)
	if out != nil {
		require.NoError(t, json.Unmarshal(b, out), "%s %s: %s", method, path, b)
	}
}

// gwUpstream is an app instance that answers every request with its name.
func gwUpstream(t *testing.T, name string) (addr, port string) {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, name)
	}))
	t.Cleanup(s.Close)
	host, port, _ := net.SplitHostPort(strings.TrimPrefix(s.URL, "http://"))
	return host, port
}

type reply struct {
	status int
	body   string
}

func get(t *testing.T, url string) reply {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return reply{0, err.Error()}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, string(b)}
}

// The gateway end to end, with everything made through the 3scale API: a
// consumer signs up on a plan limited to 5 hits a minute and gets five 200
// then 429; a suspended app gets 403; missing and invalid credentials get
// 403; and an app on a plan an instance does not serve is routed to the
// instance that does, as the answering upstream's name proves.
func TestGatewayEndToEnd(t *testing.T) {
	co := testenv.StartCoordinator(t)
	sid, hits := countedService(t, co, "News", "news")
	plan := func(name string) int64 {
		var p struct {
			Plan struct{ ID int64 } `json:"application_plan"`
		}
		adminCall(t, co, "POST", fmt.Sprintf("/admin/api/services/%d/application_plans.json", sid), "name="+name, &p)
		return p.Plan.ID
	}
	basic, premium := plan("Basic"), plan("Premium")
	adminCall(t, co, "POST", fmt.Sprintf("/admin/api/application_plans/%d/metrics/%d/limits.json", basic, hits), "period=minute&value=5", nil)

	var signup struct {
		Account struct{ ID int64 } `json:"account"`
	}
	adminCall(t, co, "POST", "/admin/api/signup.json",
		fmt.Sprintf("org_name=Acme&username=alice&email=alice@example.com&password=s3cret-pass&application_plan_id=%d", basic), &signup)
	acct := signup.Account.ID
	type app struct {
		ID      int64
		UserKey string `json:"user_key"`
		PlanID  int64  `json:"plan_id"`
	}
	newApp := func(name string, plan int64) app {
		var a struct {
			App app `json:"application"`
		}
		adminCall(t, co, "POST", fmt.Sprintf("/admin/api/accounts/%d/applications.json", acct), fmt.Sprintf("name=%s&plan_id=%d", name, plan), &a)
		return a.App
	}
	var apps struct {
		Applications []struct {
			App app `json:"application"`
		} `json:"applications"`
	}
	adminCall(t, co, "GET", fmt.Sprintf("/admin/api/accounts/%d/applications.json", acct), "", &apps)
	require.Len(t, apps.Applications, 1, "the signup made one application, on the plan asked for")
	signedUp := apps.Applications[0].App
	require.Equal(t, basic, signedUp.PlanID)
	onPremium, onBasic, frozen := newApp("premium", premium), newApp("basic2", basic), newApp("frozen", premium)

	placement := func(pool string, plan int64) {
		req, _ := http.NewRequest("POST", co.URL+"/admin/portolan/placements", strings.NewReader(
			fmt.Sprintf(`{"name":"%s-pool","selector":{"service":"newsapi","labels":{"pool":"%s"}},"service_id":%d,"plan_ids":[%d]}`, pool, pool, sid, plan)))
		req.Header.Set("Content-Type", "application/json")
		req.SetBasicAuth("", co.Token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusCreated, resp.StatusCode)
	}
	placement("basic", basic)
	placement("premium", premium)

	start := func(pool string) (gateway string, agent *testenv.Agent) {
		host, port := gwUpstream(t, pool+"-instance")
		gw := testenv.FreeAddr(t)
		a := testenv.StartAgent(t, co, "--service", "newsapi", "--label", "pool="+pool, "--address", host, "--port", port,
			"--gateway-listen", gw, "--upstream", "http://"+net.JoinHostPort(host, port),
			"--heartbeat", "300ms", "--ttl", "1s", "--", "sleep", "120")
		a.ID()
		return "http://" + gw, a
	}
	gwBasic, basicAgent := start("basic")
	gwPremium, _ := start("premium")
	url := func(gw string, a app) string { return gw + "/articles?user_key=" + a.UserKey }

	// Each gateway knows its service once it has the composition.
	for _, gw := range []string{gwBasic, gwPremium} {
		require.Eventually(t, func() bool { return get(t, gw+"/articles").status == http.StatusForbidden }, 10*time.Second, 20*time.Millisecond)
	}
	assert.Equal(t, reply{403, "Authentication parameters missing\n"}, get(t, gwBasic+"/articles"))
	assert.Equal(t, reply{403, "Authentication failed\n"}, get(t, gwBasic+"/articles?user_key=0123456789abcdef"))
	assert.Equal(t, reply{404, "No Mapping Rule matched\n"}, func() reply {
		resp, err := http.Post(url(gwBasic, signedUp), "text/plain", nil)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return reply{resp.StatusCode, string(b)}
	}())

	// Plan-aware routing, both ways, once each gateway has the other on its map.
	require.Eventually(t, func() bool { return get(t, url(gwBasic, onPremium)) == reply{200, "premium-instance"} }, 10*time.Second, 50*time.Millisecond,
		"the basic pool's gateway sends a premium app to the premium instance")
	require.Eventually(t, func() bool { return get(t, url(gwPremium, onBasic)) == reply{200, "basic-instance"} }, 10*time.Second, 50*time.Millisecond,
		"the premium pool's gateway sends a basic app to the basic instance")
	assert.Equal(t, reply{200, "premium-instance"}, get(t, url(gwPremium, onPremium)))

	// Five 200, then 429.
	for i := range 5 {
		assert.Equal(t, reply{200, "basic-instance"}, get(t, url(gwBasic, signedUp)), "request %d", i+1)
	}
	assert.Equal(t, reply{429, "Usage limit exceeded\n"}, get(t, url(gwBasic, signedUp)))
	assert.Equal(t, reply{200, "basic-instance"}, get(t, url(gwBasic, onBasic)), "the limit is per application")

	// Suspension reaches the gateways with the composition.
	assert.Equal(t, reply{200, "premium-instance"}, get(t, url(gwPremium, frozen)))
	adminCall(t, co, "PUT", fmt.Sprintf("/admin/api/accounts/%d/applications/%d/suspend.json", acct, frozen.ID), "", nil)
	require.Eventually(t, func() bool { return get(t, url(gwPremium, frozen)) == reply{403, "Authentication failed\n"} }, 5*time.Second, 20*time.Millisecond)
	require.Eventually(t, func() bool { return get(t, url(gwBasic, frozen)) == reply{403, "Authentication failed\n"} }, 5*time.Second, 20*time.Millisecond)

	m := get(t, "http://"+basicAgent.API+"/metrics").body
	assert.Contains(t, m, `portolan_agent_gateway_requests_total{result="limits_exceeded"} 1`)
	assert.Contains(t, m, `portolan_agent_gateway_requests_total{result="auth_missing"} `)
	assert.Regexp(t, `portolan_agent_gateway_requests_total\{result="routed"\} [1-9]`, m)
}

// countedService creates a user_key service through the 3scale API with one
// mapping rule, GET / counting hits, and returns its id and the hits metric's.
func countedService(t *testing.T, co *testenv.Coordinator, name, systemName string) (serviceID, hits int64) {
	t.Helper()
	var svc struct {
		Service struct{ ID int64 } `json:"service"`
	}
	adminCall(t, co, "POST", "/admin/api/services.json", "name="+name+"&system_name="+systemName+"&backend_version=1", &svc)
	var metrics struct {
		Metrics []struct {
			Metric struct {
				ID         int64
				SystemName string `json:"system_name"`
			} `json:"metric"`
		} `json:"metrics"`
	}
	adminCall(t, co, "GET", fmt.Sprintf("/admin/api/services/%d/metrics.json", svc.Service.ID), "", &metrics)
	require.NotEmpty(t, metrics.Metrics)
	require.Equal(t, "hits", metrics.Metrics[0].Metric.SystemName)
	hits = metrics.Metrics[0].Metric.ID
	adminCall(t, co, "POST", fmt.Sprintf("/admin/api/services/%d/proxy/mapping_rules.json", svc.Service.ID),
		fmt.Sprintf("http_method=GET&pattern=/&delta=1&metric_id=%d", hits), nil)
	return svc.Service.ID, hits
}

// signUp signs a consumer up on plan through the 3scale API and returns its
// account's id and the user_key of the application the signup made.
func signUp(t *testing.T, co *testenv.Coordinator, plan int64) (account int64, userKey string) {
	t.Helper()
	var signup struct {
		Account struct{ ID int64 } `json:"account"`
	}
	adminCall(t, co, "POST", "/admin/api/signup.json",
		fmt.Sprintf("org_name=Acme&username=alice&email=alice@example.com&password=s3cret-pass&application_plan_id=%d", plan), &signup)
	var apps struct {
		Applications []struct {
			App struct {
				UserKey string `json:"user_key"`
			} `json:"application"`
		} `json:"applications"`
	}
	adminCall(t, co, "GET", fmt.Sprintf("/admin/api/accounts/%d/applications.json", signup.Account.ID), "", &apps)
	require.Len(t, apps.Applications, 1, "the signup makes one application, on the plan asked for")
	return signup.Account.ID, apps.Applications[0].App.UserKey
}

// putPolicyChain stores a service's policy chain (a JSON array) through
// 3scale's PUT .../proxy/policies.json, as its form parameter.
func putPolicyChain(t *testing.T, co *testenv.Coordinator, serviceID int64, chain string) {
	t.Helper()
	adminCall(t, co, "PUT", fmt.Sprintf("/admin/api/services/%d/proxy/policies.json", serviceID), "policies_config="+url.QueryEscape(chain), nil)
}
