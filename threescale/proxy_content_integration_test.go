package threescale_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/3scale/3scale-porta-go-client/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// pxDocument is a composition with a product using two backends, one at
// the root and one under /v2, each with mapping rules.
const pxDocument = `{
  "format": "portolan.composition/v1",
  "services": [{"id": 10, "name": "Catalog Shop", "system_name": "catalog_shop", "backend_version": "2"}],
  "backend_apis": [
    {"id": 20, "name": "Catalog", "system_name": "catalog", "private_endpoint": "http://catalog.internal:8080"},
    {"id": 21, "name": "Search", "system_name": "search", "private_endpoint": "http://search.internal"}
  ],
  "metrics": [
    {"id": 30, "owner_type": "Service", "owner_id": 10, "system_name": "hits", "friendly_name": "Hits", "unit": "hit"},
    {"id": 31, "owner_type": "BackendApi", "owner_id": 20, "system_name": "hits", "friendly_name": "Hits", "unit": "hit"},
    {"id": 32, "owner_type": "BackendApi", "owner_id": 21, "system_name": "hits", "friendly_name": "Hits", "unit": "hit"},
    {"id": 33, "owner_type": "BackendApi", "owner_id": 21, "system_name": "searches", "friendly_name": "Searches", "unit": "search"}
  ],
  "mapping_rules": [
    {"id": 40, "owner_type": "Service", "owner_id": 10, "metric_id": 30, "http_method": "GET", "pattern": "/status", "delta": 1, "position": 1},
    {"id": 41, "owner_type": "BackendApi", "owner_id": 20, "metric_id": 31, "http_method": "GET", "pattern": "/items/{id}?debug={d}", "delta": 2, "position": 1, "last": true},
    {"id": 42, "owner_type": "BackendApi", "owner_id": 21, "metric_id": 33, "http_method": "POST", "pattern": "/search.json", "delta": 1, "position": 1}
  ],
  "backend_usages": [
    {"id": 50, "service_id": 10, "backend_id": 20, "path": "/"},
    {"id": 51, "service_id": 10, "backend_id": 21, "path": "/v2"}
  ],
  "proxies": [{
    "service_id": 10, "endpoint": "https://catalog.example.com", "sandbox_endpoint": "https://catalog-staging.example.com",
    "credentials_location": "query", "auth_user_key": "user_key", "auth_app_id": "app_id", "auth_app_key": "app_key",
    "error_status_auth_failed": 403, "error_status_auth_missing": 403, "error_status_no_match": 404, "error_status_limits_exceeded": 429,
    "secret_token": "s3cret",
    "policy_chain": [
      {"name": "cors", "version": "builtin", "configuration": {"allow_origin": "*"}, "enabled": false},
      {"name": "apicast", "version": "builtin", "configuration": {}, "enabled": true}
    ]
  }]
}`

func TestProxyConfigContentAndFeedIntegration(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	status, body := rawCall(t, co, http.MethodPost, "/admin/portolan/composition", "application/json", pxDocument)
	require.Equal(t, http.StatusCreated, status, "%s", body)
	products, err := cl.ListProducts()
	require.NoError(t, err)
	require.Len(t, products.Products, 1)
	id := products.Products[0].Element.ID
	sid := strconv.FormatInt(id, 10)

	// Deploy twice: versions 1 and 2.
	for range 2 {
		pj, err := cl.DeployProductProxy(id)
		require.NoError(t, err)
		assert.Equal(t, id, pj.Element.ServiceID)
		assert.Equal(t, "https://catalog.example.com", pj.Element.Endpoint)
		assert.Equal(t, "s3cret", pj.Element.SecretToken)
	}
	configs, err := cl.ListProxyConfig(sid, "sandbox")
	require.NoError(t, err)
	assert.Equal(t, []int{1, 2}, pxVersions(configs))
	configs, err = cl.ListProxyConfig(sid, "production")
	require.NoError(t, err)
	assert.Empty(t, configs.ProxyConfigs)

	pc, err := cl.GetProxyConfig(sid, "sandbox", "2")
	require.NoError(t, err)
	cp := pc.ProxyConfig.Content.Proxy
	assert.Equal(t, "catalog_shop", pc.ProxyConfig.Content.SystemName)
	assert.Equal(t, "2", pc.ProxyConfig.Content.BackendVersion)
	assert.Equal(t, "2", cp.ServiceBackendVersion)
	// The root backend is the upstream.
	assert.Equal(t, "http://catalog.internal:8080", cp.APIBackend)
	assert.Equal(t, "catalog.internal", cp.HostnameRewriteForSandbox)
	assert.Equal(t, []string{"catalog.example.com", "catalog-staging.example.com"}, cp.Hosts)
	// The product's rules, then each backend's under its usage path.
	require.Len(t, cp.ProxyRules, 3)
	assert.Equal(t, "GET", cp.ProxyRules[0].HTTPMethod)
	assert.Equal(t, "/status", cp.ProxyRules[0].Pattern)
	assert.Equal(t, "hits", cp.ProxyRules[0].MetricSystemName)
	assert.Equal(t, int64(1), cp.ProxyRules[0].Delta)
	assert.Equal(t, id, cp.ProxyRules[0].ProxyID)
	assert.Equal(t, "GET", cp.ProxyRules[1].HTTPMethod)
	assert.Equal(t, "/items/{id}?debug={d}", cp.ProxyRules[1].Pattern)
	assert.Equal(t, int64(2), cp.ProxyRules[1].Delta)
	assert.Equal(t, []string{"id"}, cp.ProxyRules[1].Parameters)
	assert.True(t, cp.ProxyRules[1].Last)
	assert.Equal(t, "POST", cp.ProxyRules[2].HTTPMethod)
	assert.Equal(t, `/v2/search\.json`, cp.ProxyRules[2].Pattern)
	// Disabled policies stay out of the chain; a routing policy comes right before apicast.
	require.Len(t, cp.PolicyChain, 2)
	assert.Equal(t, "routing", cp.PolicyChain[0].Name)
	assert.Equal(t, "apicast", cp.PolicyChain[1].Name)

	status, body = rawCall(t, co, http.MethodGet, "/admin/api/services/"+sid+"/proxy/configs/sandbox/2.json", "", "")
	require.Equal(t, http.StatusOK, status, "%s", body)
	var raw struct {
		ProxyConfig struct {
			Content pxRawContent `json:"content"`
		} `json:"proxy_config"`
	}
	require.NoError(t, json.Unmarshal(body, &raw))
	rules := raw.ProxyConfig.Content.Proxy.ProxyRules
	require.Len(t, rules, 3)
	assert.Equal(t, "Proxy", rules[0].OwnerType)
	assert.Equal(t, id, rules[0].OwnerID)
	catalogID, searchID := rules[1].OwnerID, rules[2].OwnerID
	assert.Equal(t, "BackendApi", rules[1].OwnerType)
	assert.Equal(t, "BackendApi", rules[2].OwnerType)
	// 3scale names backend metrics "<system_name>.<backend id>" towards APIcast.
	assert.Equal(t, "hits."+strconv.FormatInt(catalogID, 10), rules[1].MetricSystemName)
	assert.Equal(t, "searches."+strconv.FormatInt(searchID, 10), rules[2].MetricSystemName)
	assert.Equal(t, map[string]string{"debug": "{d}"}, rules[1].QuerystringParameters)
	assert.Equal(t, map[string]string{}, rules[0].QuerystringParameters)
	assert.JSONEq(t, `{"rules":[
		{"url":"http://search.internal","owner_id":`+strconv.FormatInt(searchID, 10)+`,"owner_type":"BackendApi",
		 "condition":{"operations":[{"match":"path","op":"matches","value":"^(/v2/.*|/v2/?)"}]},
		 "replace_path":"{{uri | remove_first: '/v2'}}"},
		{"url":"http://catalog.internal:8080","owner_id":`+strconv.FormatInt(catalogID, 10)+`,"owner_type":"BackendApi",
		 "condition":{"operations":[{"match":"path","op":"matches","value":"^(/.*)"}]}}]}`,
		string(raw.ProxyConfig.Content.Proxy.PolicyChain[0].Configuration))

	// Promote v2: the production latest is 2, and the feed lists it.
	promoted, err := cl.PromoteProxyConfig(sid, "sandbox", "2", "production")
	require.NoError(t, err)
	assert.Equal(t, 2, promoted.ProxyConfig.Version)
	latest, err := cl.GetLatestProxyConfig(sid, "production")
	require.NoError(t, err)
	assert.Equal(t, 2, latest.ProxyConfig.Version)
	assert.Equal(t, "production", latest.ProxyConfig.Environment)

	// A second service, deployed but not promoted, with its own host.
	other := createProduct(t, cl, "Other", nil)
	_, err = cl.UpdateProductProxy(other, client.Params{"api_backend": "http://other.internal", "endpoint": "https://other.example.com"})
	require.NoError(t, err)

	feed := func(env, query string) client.ProxyConfigList {
		t.Helper()
		path := "/admin/api/account/proxy_configs/" + env + ".json"
		if query != "" {
			path += "?" + query
		}
		status, body := rawCall(t, co, http.MethodGet, path, "", "")
		require.Equal(t, http.StatusOK, status, "%s", body)
		var list client.ProxyConfigList
		require.NoError(t, json.Unmarshal(body, &list), "%s", body)
		return list
	}
	prod := feed("production", "")
	require.Len(t, prod.ProxyConfigs, 1)
	assert.Equal(t, id, prod.ProxyConfigs[0].ProxyConfig.Content.ID)
	assert.Equal(t, 2, prod.ProxyConfigs[0].ProxyConfig.Version)
	assert.Equal(t, "production", prod.ProxyConfigs[0].ProxyConfig.Environment)
	assert.Equal(t, "http://catalog.internal:8080", prod.ProxyConfigs[0].ProxyConfig.Content.Proxy.APIBackend)
	sandbox := feed("sandbox", "version=latest")
	require.Len(t, sandbox.ProxyConfigs, 2)
	assert.Equal(t, id, sandbox.ProxyConfigs[0].ProxyConfig.Content.ID)
	assert.Equal(t, 2, sandbox.ProxyConfigs[0].ProxyConfig.Version)
	assert.Equal(t, other, sandbox.ProxyConfigs[1].ProxyConfig.Content.ID)
	assert.Equal(t, 1, sandbox.ProxyConfigs[1].ProxyConfig.Version)
	byHost := feed("sandbox", url.Values{"host": {"other.example.com"}}.Encode())
	require.Len(t, byHost.ProxyConfigs, 1)
	assert.Equal(t, other, byHost.ProxyConfigs[0].ProxyConfig.Content.ID)
	byHost = feed("sandbox", "host=catalog-staging.example.com")
	require.Len(t, byHost.ProxyConfigs, 1)
	assert.Equal(t, id, byHost.ProxyConfigs[0].ProxyConfig.Content.ID)
	assert.Empty(t, feed("production", "host=other.example.com").ProxyConfigs)
	v1 := feed("sandbox", "version=1")
	require.Len(t, v1.ProxyConfigs, 2)
	assert.Equal(t, 1, v1.ProxyConfigs[0].ProxyConfig.Version)
	assert.Equal(t, 1, v1.ProxyConfigs[1].ProxyConfig.Version)
	assert.Len(t, feed("sandbox", "per_page=1&page=2").ProxyConfigs, 1)

	status, body = rawCall(t, co, http.MethodGet, "/admin/api/account/proxy_configs/production.json?version=newest", "", "")
	assert.Contains(t, fieldErrors(t, status, body), "version")
	status, _ = rawCall(t, co, http.MethodGet, "/admin/api/account/proxy_configs/moon.json", "", "")
	assert.Equal(t, http.StatusBadRequest, status)
}
