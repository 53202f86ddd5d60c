package threescale_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"testing"

	"github.com/3scale/3scale-porta-go-client/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// The routing policy a proxy config carries for a product whose backends
// are mounted under sub paths is porta's (app/lib/backend_api_logic/
// routing_policy.rb and its test, test/unit/lib/backend_api_logic/
// routing_policy_test.rb): each rule's path condition is ConfigPath#to_regex,
// anchored ("^(/foo/.*|/foo/?)", the root "^(/.*)"), since APIcast's
// "matches" searches anywhere in the path (porta PR #1777: "/api/v1/x" went
// to the backend at /v1); replace_path works on the current uri ("{{uri |
// remove_first: '/foo'}}"), so an earlier url_rewriting counts; the policy
// goes right before apicast ("routing policy before apicast policy"), and the
// product's own routing policies are folded into it, their rules after the
// backends' ("other routing policies are merged"). A backend's rule "/" is
// its path alone, "/v1" and not "/v1/" (ProxyRuleDecorator#pattern, porta PR
// #1394), so that a stock APIcast booted from this feed matches "/v1".
func TestProxyConfigRoutesBackendsAsPortaDoes(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	const doc = `{
  "format": "portolan.composition/v1",
  "services": [{"id": 10, "name": "Shop", "system_name": "shop", "backend_version": "1"}],
  "backend_apis": [
    {"id": 20, "name": "Root", "system_name": "root", "private_endpoint": "http://root.internal"},
    {"id": 21, "name": "V1", "system_name": "v1", "private_endpoint": "http://v1.internal"},
    {"id": 22, "name": "Admin", "system_name": "admin", "private_endpoint": "http://admin.internal"}
  ],
  "metrics": [
    {"id": 30, "owner_type": "Service", "owner_id": 10, "system_name": "hits", "friendly_name": "Hits", "unit": "hit"},
    {"id": 31, "owner_type": "BackendApi", "owner_id": 20, "system_name": "hits", "friendly_name": "Hits", "unit": "hit"},
    {"id": 32, "owner_type": "BackendApi", "owner_id": 21, "system_name": "hits", "friendly_name": "Hits", "unit": "hit"},
    {"id": 33, "owner_type": "BackendApi", "owner_id": 22, "system_name": "hits", "friendly_name": "Hits", "unit": "hit"}
  ],
  "mapping_rules": [
    {"id": 41, "owner_type": "BackendApi", "owner_id": 21, "metric_id": 32, "http_method": "GET", "pattern": "/", "delta": 1, "position": 1},
    {"id": 42, "owner_type": "BackendApi", "owner_id": 21, "metric_id": 32, "http_method": "GET", "pattern": "/items", "delta": 1, "position": 2}
  ],
  "backend_usages": [
    {"id": 50, "service_id": 10, "backend_id": 20, "path": "/"},
    {"id": 51, "service_id": 10, "backend_id": 21, "path": "/v1"},
    {"id": 52, "service_id": 10, "backend_id": 22, "path": "/v1/admin"}
  ],
  "proxies": [{
    "service_id": 10, "endpoint": "https://shop.example.com", "sandbox_endpoint": "https://shop-staging.example.com",
    "credentials_location": "query", "auth_user_key": "user_key", "auth_app_id": "app_id", "auth_app_key": "app_key",
    "error_status_auth_failed": 403, "error_status_auth_missing": 403, "error_status_no_match": 404, "error_status_limits_exceeded": 429,
    "policy_chain": [
      {"name": "headers", "version": "builtin", "configuration": {}, "enabled": true},
      {"name": "routing", "version": "builtin", "enabled": true, "configuration": {"rules": [
        {"url": "http://echo.internal", "condition": {"operations": [{"match": "header", "header_name": "Redirect", "op": "==", "value": "echo"}]}}]}},
      {"name": "apicast", "version": "builtin", "configuration": {}, "enabled": true},
      {"name": "cors", "version": "builtin", "configuration": {}, "enabled": true}
    ]
  }]
}`
	status, body := rawCall(t, co, http.MethodPost, "/admin/portolan/composition", "application/json", doc)
	require.Equal(t, http.StatusCreated, status, "%s", body)
	products, err := cl.ListProducts()
	require.NoError(t, err)
	require.Len(t, products.Products, 1)
	sid := strconv.FormatInt(products.Products[0].Element.ID, 10)
	_, err = cl.DeployProductProxy(products.Products[0].Element.ID)
	require.NoError(t, err)

	status, body = rawCall(t, co, http.MethodGet, "/admin/api/services/"+sid+"/proxy/configs/sandbox/latest.json", "", "")
	require.Equal(t, http.StatusOK, status, "%s", body)
	var raw struct {
		ProxyConfig struct {
			Content pxRawContent `json:"content"`
		} `json:"proxy_config"`
	}
	require.NoError(t, json.Unmarshal(body, &raw))
	p := raw.ProxyConfig.Content.Proxy
	var names []string
	for _, pc := range p.PolicyChain {
		names = append(names, pc.Name)
	}
	require.Equal(t, []string{"headers", "routing", "apicast", "cors"}, names, "one routing policy, right before apicast")

	backends, err := cl.ListBackendApis()
	require.NoError(t, err)
	ids := map[string]string{}
	for _, b := range backends.Backends {
		ids[b.Element.SystemName] = strconv.FormatInt(b.Element.ID, 10)
	}
	assert.JSONEq(t, `{"rules":[
		{"url":"http://admin.internal","owner_id":`+ids["admin"]+`,"owner_type":"BackendApi",
		 "condition":{"operations":[{"match":"path","op":"matches","value":"^(/v1/admin/.*|/v1/admin/?)"}]},
		 "replace_path":"{{uri | remove_first: '/v1/admin'}}"},
		{"url":"http://v1.internal","owner_id":`+ids["v1"]+`,"owner_type":"BackendApi",
		 "condition":{"operations":[{"match":"path","op":"matches","value":"^(/v1/.*|/v1/?)"}]},
		 "replace_path":"{{uri | remove_first: '/v1'}}"},
		{"url":"http://root.internal","owner_id":`+ids["root"]+`,"owner_type":"BackendApi",
		 "condition":{"operations":[{"match":"path","op":"matches","value":"^(/.*)"}]}},
		{"url":"http://echo.internal","condition":{"operations":[{"match":"header","header_name":"Redirect","op":"==","value":"echo"}]}}]}`,
		string(p.PolicyChain[1].Configuration))

	var patterns []string
	for _, r := range p.ProxyRules {
		patterns = append(patterns, r.Pattern)
	}
	assert.Equal(t, []string{"/v1", "/v1/items"}, patterns, `a backend's "/" is its path alone`)

	// A product whose backends are all at the root keeps its chain as it is.
	single, err := cl.CreateProduct("Single", client.Params{})
	require.NoError(t, err)
	b, err := cl.CreateBackendApi(client.Params{"name": "Only", "private_endpoint": "http://only.internal"})
	require.NoError(t, err)
	_, err = cl.CreateBackendapiUsage(single.Element.ID, client.Params{"backend_api_id": strconv.FormatInt(b.Element.ID, 10), "path": "/"})
	require.NoError(t, err)
	_, err = cl.DeployProductProxy(single.Element.ID)
	require.NoError(t, err)
	pc, err := cl.GetLatestProxyConfig(strconv.FormatInt(single.Element.ID, 10), "sandbox")
	require.NoError(t, err)
	names = nil
	for _, e := range pc.ProxyConfig.Content.Proxy.PolicyChain {
		names = append(names, e.Name)
	}
	assert.Equal(t, []string{"apicast"}, names)
}
