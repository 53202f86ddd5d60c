package agent_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// The policy chain end to end, through a real coordinator and a real agent:
// a chain of cors, headers, ip_check, url_rewriting, rate_limit and apicast
// stored through 3scale's API (PUT .../proxy/policies.json) and run by the
// agent's gateway, each policy doing what APIcast's README says:
//   - cors: "a preflight request is answered by the gateway" and the CORS
//     headers are added to every answer to a request with an Origin;
//   - headers: a request header set from Liquid ({{remote_addr}}), a
//     response header set;
//   - ip_check: a blacklisted client IP, taken from X-Forwarded-For, gets
//     the configured error message;
//   - url_rewriting: placed before apicast, the mapping rules match the
//     rewritten path (/v1/articles → /articles);
//   - rate_limit: a fixed window of 3 per tenant header, then 429;
//   - apicast: user_key authentication, counted against the plan.
func TestPolicyChainEndToEnd(t *testing.T) {
	co := testenv.StartCoordinator(t)
	var svc struct {
		Service struct{ ID int64 } `json:"service"`
	}
	adminCall(t, co, "POST", "/admin/api/services.json", "name=Chain&system_name=chainapi&backend_version=1", &svc)
	sid := svc.Service.ID
	var metrics struct {
		Metrics []struct {
			Metric struct{ ID int64 } `json:"metric"`
		} `json:"metrics"`
	}
	adminCall(t, co, "GET", fmt.Sprintf("/admin/api/services/%d/metrics.json", sid), "", &metrics)
	hits := metrics.Metrics[0].Metric.ID
	// Only /articles is mapped: /v1/articles matches once rewritten.
	adminCall(t, co, "POST", fmt.Sprintf("/admin/api/services/%d/proxy/mapping_rules.json", sid),
		fmt.Sprintf("http_method=GET&pattern=/articles&delta=1&metric_id=%d", hits), nil)
	var p struct {
		Plan struct{ ID int64 } `json:"application_plan"`
	}
	adminCall(t, co, "POST", fmt.Sprintf("/admin/api/services/%d/application_plans.json", sid), "name=Basic", &p)
	_, userKey := signUp(t, co, p.Plan.ID)

	putPolicyChain(t, co, sid, `[
		{"name":"cors","version":"builtin","enabled":true,"configuration":{"allow_origin":"https://news.example","allow_methods":["GET"],"allow_headers":["X-Tenant"]}},
		{"name":"headers","version":"builtin","enabled":true,"configuration":{
			"request":[{"op":"set","header":"X-Client-IP","value":"{{remote_addr}}","value_type":"liquid"}],
			"response":[{"op":"set","header":"X-Gateway","value":"portolan","value_type":"plain"}]}},
		{"name":"ip_check","version":"builtin","enabled":true,"configuration":{"check_type":"blacklist","ips":["10.0.0.0/8"],
			"error_msg":"Blocked","client_ip_sources":["X-Forwarded-For","last_caller"]}},
		{"name":"url_rewriting","version":"builtin","enabled":true,"configuration":{"commands":[{"op":"sub","regex":"^/v1/","replace":"/"}]}},
		{"name":"rate_limit","version":"builtin","enabled":true,"configuration":{"fixed_window_limiters":[
			{"key":{"name":"{{headers['X-Tenant']}}","name_type":"liquid","scope":"service"},"count":3,"window":60}]}},
		{"name":"apicast","version":"builtin","enabled":true,"configuration":{}}]`)

	// The app echoes the path and the header the chain sets.
	upstreamHits := make(chan string, 100)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upstreamHits <- r.Method + " " + r.URL.Path
		fmt.Fprintf(w, "%s from %s", r.URL.Path, r.Header.Get("X-Client-IP"))
	}))
	t.Cleanup(app.Close)
	host, port, _ := net.SplitHostPort(strings.TrimPrefix(app.URL, "http://"))
	gw := testenv.FreeAddr(t)
	testenv.StartAgent(t, co, "--service", "chainapi", "--address", host, "--port", port,
		"--gateway-listen", gw, "--upstream", app.URL, "--heartbeat", "300ms", "--ttl", "1s", "--", "sleep", "120")

	send := func(method, tenant string, header ...string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(method, "http://"+gw+"/v1/articles?user_key="+userKey, nil)
		require.NoError(t, err)
		req.Header.Set("Origin", "https://news.example")
		if tenant != "" {
			req.Header.Set("X-Tenant", tenant)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	require.Eventually(t, func() bool {
		req, _ := http.NewRequest(http.MethodGet, "http://"+gw+"/v1/articles?user_key="+userKey, nil)
		req.Header.Set("X-Tenant", "warm-up")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false // not listening yet
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 10*time.Second, 50*time.Millisecond, "the agent's gateway serves the service with its chain")
	<-upstreamHits

	// url_rewriting, headers (both ways), cors on a simple request, apicast.
	resp, body := send(http.MethodGet, "a")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "/articles from 127.0.0.1", body, "rewritten before the app; {{remote_addr}} set as X-Client-IP")
	assert.Equal(t, "portolan", resp.Header.Get("X-Gateway"))
	assert.Equal(t, "https://news.example", resp.Header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "GET /articles", <-upstreamHits)

	// cors: the preflight is the gateway's, without credentials, never the app's.
	resp, _ = send(http.MethodOptions, "", "Access-Control-Request-Method", "GET")
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	assert.Equal(t, "https://news.example", resp.Header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "GET", resp.Header.Get("Access-Control-Allow-Methods"))

	// ip_check: a blacklisted client, still with the CORS headers.
	resp, body = send(http.MethodGet, "a", "X-Forwarded-For", "10.1.2.3")
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Equal(t, "Blocked\n", body)
	assert.Equal(t, "https://news.example", resp.Header.Get("Access-Control-Allow-Origin"))

	// rate_limit: three per window and tenant, then 429; another tenant is not held.
	for i := range 3 {
		resp, _ = send(http.MethodGet, "b")
		assert.Equal(t, http.StatusOK, resp.StatusCode, "tenant b, request %d", i+1)
	}
	resp, _ = send(http.MethodGet, "b")
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "the fourth in the window")
	resp, _ = send(http.MethodGet, "c")
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	// apicast: no credentials, after all the rest.
	resp, err := http.Get("http://" + gw + "/v1/articles")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Equal(t, "portolan", resp.Header.Get("X-Gateway"), "the header filter runs on the gateway's own answers too")

	// Nothing refused reached the app: tenant b's three and tenant c's one, exactly.
	time.Sleep(100 * time.Millisecond)
	assert.Len(t, upstreamHits, 4, "only served requests reach the app")
}
