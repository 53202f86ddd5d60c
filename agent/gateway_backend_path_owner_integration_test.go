package agent_test

import (
	"encoding/json"
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

// A request to a product whose backends are mounted under paths counts
// usage for the one backend its path belongs to (and the product), never
// for a backend mounted higher up whose rules match as well. In 3scale the
// product's proxy config carries porta's routing policy (app/lib/
// backend_api_logic/routing_policy.rb: one rule per backend usage, the
// longest path first, "^(/v1/.*|/v1/?)", the root "^(/.*)", each with
// owner_id, owner_type BackendApi), so APIcast routes every request to one
// backend and its route_upstream_usage_cleanup subtracts the deltas of the
// other backends' matched rules (mapping_rules_matcher's
// clean_usage_by_owner_id). Here a backend at "/", one at "/v1" and one at
// "/v1/admin", each with a rule "/": GET /v1/admin/x counted hits of all
// three, so the root backend's plan limit was eaten by /v1 traffic.
func TestGatewayCountsTheBackendThePathBelongsTo(t *testing.T) {
	co := testenv.StartCoordinator(t)
	var svc struct {
		Service struct{ ID int64 } `json:"service"`
	}
	adminCall(t, co, "POST", "/admin/api/services.json", "name=Shop&system_name=shop&backend_version=1", &svc)
	sid := svc.Service.ID
	backend := func(name, path string) (id int64) {
		var b struct {
			Backend struct{ ID int64 } `json:"backend_api"`
		}
		adminCall(t, co, "POST", "/admin/api/backend_apis.json", "name="+name+"&private_endpoint=http://"+name+".internal", &b)
		var metrics struct {
			Metrics []struct {
				Metric struct {
					ID         int64
					SystemName string `json:"system_name"`
				} `json:"metric"`
			} `json:"metrics"`
		}
		adminCall(t, co, "GET", fmt.Sprintf("/admin/api/backend_apis/%d/metrics.json", b.Backend.ID), "", &metrics)
		require.Equal(t, "hits", metrics.Metrics[0].Metric.SystemName)
		adminCall(t, co, "POST", fmt.Sprintf("/admin/api/backend_apis/%d/mapping_rules.json", b.Backend.ID),
			fmt.Sprintf("http_method=GET&pattern=/&delta=1&metric_id=%d", metrics.Metrics[0].Metric.ID), nil)
		adminCall(t, co, "POST", fmt.Sprintf("/admin/api/services/%d/backend_usages.json", sid),
			fmt.Sprintf("backend_api_id=%d&path=%s", b.Backend.ID, path), nil)
		return b.Backend.ID
	}
	root, v1, admin := backend("root", "/"), backend("v1", "/v1"), backend("admin", "/v1/admin")
	var p struct {
		Plan struct{ ID int64 } `json:"application_plan"`
	}
	adminCall(t, co, "POST", fmt.Sprintf("/admin/api/services/%d/application_plans.json", sid), "name=Basic", &p)
	account, userKey := signUp(t, co, p.Plan.ID)
	var apps struct {
		Applications []struct {
			App struct{ ID int64 } `json:"application"`
		} `json:"applications"`
	}
	adminCall(t, co, "GET", fmt.Sprintf("/admin/api/accounts/%d/applications.json", account), "", &apps)
	app := apps.Applications[0].App.ID

	host, port := gwUpstream(t, "app")
	gw := testenv.FreeAddr(t)
	testenv.StartAgent(t, co, "--service", "shop", "--address", host, "--port", port,
		"--gateway-listen", gw, "--upstream", "http://"+net.JoinHostPort(host, port), "--report-interval", "100ms",
		"--heartbeat", "300ms", "--ttl", "1s", "--", "sleep", "120")
	require.Eventually(t, func() bool { return get(t, "http://"+gw+"/items?user_key="+userKey) == reply{200, "app"} },
		10*time.Second, 20*time.Millisecond, "the gateway serves the product")
	assert.Equal(t, reply{200, "app"}, get(t, "http://"+gw+"/v1/items?user_key="+userKey))
	assert.Equal(t, reply{200, "app"}, get(t, "http://"+gw+"/v1/admin/x?user_key="+userKey))

	total := func(path string) int64 {
		resp, err := http.Get(co.URL + path + "&period=eternity&access_token=" + co.Token)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
		var u struct {
			Total int64 `json:"total"`
		}
		require.NoError(t, json.Unmarshal(b, &u), "%s", b)
		return u.Total
	}
	appHits := func(backend int64) int64 {
		return total(fmt.Sprintf("/stats/applications/%d/usage.json?metric_name=hits.%d", app, backend))
	}
	// The last request is the only one the admin backend counts: once its
	// usage is home, so is every earlier request's.
	require.Eventually(t, func() bool { return appHits(admin) == 1 }, 10*time.Second, 50*time.Millisecond)
	assert.Equal(t, int64(1), appHits(root), "the root backend counts /items alone")
	assert.Equal(t, int64(1), appHits(v1), "/v1 counts /v1/items, not /v1/admin/x")
	assert.Equal(t, int64(1), total(fmt.Sprintf("/stats/backend_apis/%d/usage.json?metric_name=hits", root)),
		"the backend's own stats agree")
}
