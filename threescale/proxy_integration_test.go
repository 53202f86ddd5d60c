package threescale_test

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/3scale/3scale-porta-go-client/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

func pxVersions(list client.ProxyConfigList) []int {
	out := []int{}
	for _, e := range list.ProxyConfigs {
		out = append(out, e.ProxyConfig.Version)
	}
	return out
}

func TestProxyIntegration(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	id := createProduct(t, cl, "Shop", nil)
	sid := strconv.FormatInt(id, 10)

	// Every service has a proxy with 3scale's defaults.
	pj, err := cl.ProductProxy(id)
	require.NoError(t, err)
	p := pj.Element
	assert.Equal(t, id, p.ServiceID)
	assert.Equal(t, "http://shop-1.portolan.localhost:8080", p.Endpoint)
	assert.Equal(t, "http://shop-1.staging.portolan.localhost:8080", p.SandboxEndpoint)
	assert.Equal(t, "", p.ApiBackend)
	assert.Equal(t, "query", p.CredentialsLocation)
	assert.Equal(t, "app_key", p.AuthAppKey)
	assert.Equal(t, "app_id", p.AuthAppID)
	assert.Equal(t, "user_key", p.AuthUserKey)
	assert.Equal(t, "Authentication failed", p.ErrorAuthFailed)
	assert.Equal(t, "Authentication parameters missing", p.ErrorAuthMissing)
	assert.Equal(t, "No Mapping Rule matched", p.ErrorNoMatch)
	assert.Equal(t, "Usage limit exceeded", p.ErrorLimitsExceeded)
	assert.Equal(t, 403, p.ErrorStatusAuthFailed)
	assert.Equal(t, 403, p.ErrorStatusAuthMissing)
	assert.Equal(t, 404, p.ErrorStatusNoMatch)
	assert.Equal(t, 429, p.ErrorStatusLimitsExceeded)
	assert.Equal(t, "text/plain; charset=us-ascii", p.ErrorHeadersAuthFailed)
	assert.Equal(t, "text/plain; charset=us-ascii", p.ErrorHeadersAuthMissing)
	assert.Equal(t, "text/plain; charset=us-ascii", p.ErrorHeadersNoMatch)
	assert.Equal(t, "text/plain; charset=us-ascii", p.ErrorHeadersLimitsExceeded)
	assert.True(t, strings.HasPrefix(p.SecretToken, "Shared_secret_sent_from_proxy_to_API_backend_"), p.SecretToken)
	assert.Equal(t, "/", p.ApiTestPath)
	assert.Equal(t, 0, p.LockVersion)
	assert.NotEmpty(t, p.CreatedAt)
	assert.NotEmpty(t, p.UpdatedAt)

	// The legacy XML read gives the same proxy, policies_config as JSON text.
	px, err := cl.ReadProxy(sid)
	require.NoError(t, err)
	assert.Equal(t, sid, px.ServiceID)
	assert.Equal(t, "query", px.CredentialsLocation)
	assert.Equal(t, "user_key", px.AuthUserKey)
	assert.Equal(t, "403", px.ErrorStatusAuthFailed)
	assert.Equal(t, "404", px.ErrorStatusNoMatch)
	assert.Equal(t, p.SecretToken, px.SecretToken)
	assert.Equal(t, "/", px.ApiTestPath)
	assert.Equal(t, "0", px.LockVersion)
	assert.Equal(t, p.CreatedAt, px.CreatedAt)
	var xmlChain []client.PolicyConfig
	require.NoError(t, json.Unmarshal([]byte(px.PoliciesConfig), &xmlChain), px.PoliciesConfig)
	require.Len(t, xmlChain, 1)
	assert.Equal(t, "apicast", xmlChain[0].Name)
	assert.Equal(t, "builtin", xmlChain[0].Version)
	assert.True(t, xmlChain[0].Enabled)

	// Without an upstream the proxy is deployed too, as in 3scale.
	_, err = cl.DeployProductProxy(id)
	require.NoError(t, err)
	configs, err := cl.ListProxyConfig(sid, "sandbox")
	require.NoError(t, err)
	assert.Equal(t, []int{1}, pxVersions(configs))

	// Update (JSON). As 3scale documents, it also deploys to the sandbox.
	pj, err = cl.UpdateProductProxy(id, client.Params{
		"endpoint":              "https://shop.example.com:8443",
		"sandbox_endpoint":      "https://shop-staging.example.com",
		"api_backend":           "http://shop.internal:8080",
		"credentials_location":  "headers",
		"auth_user_key":         "X-Key",
		"error_status_no_match": "410",
		"hostname_rewrite":      "shop.upstream",
	})
	require.NoError(t, err)
	p = pj.Element
	assert.Equal(t, id, p.ServiceID)
	assert.Equal(t, "https://shop.example.com:8443", p.Endpoint)
	assert.Equal(t, "https://shop-staging.example.com", p.SandboxEndpoint)
	assert.Equal(t, "http://shop.internal:8080", p.ApiBackend)
	assert.Equal(t, "headers", p.CredentialsLocation)
	assert.Equal(t, "X-Key", p.AuthUserKey)
	assert.Equal(t, "app_id", p.AuthAppID)
	assert.Equal(t, 410, p.ErrorStatusNoMatch)
	assert.Equal(t, "shop.upstream", p.HostnameRewrite)
	assert.Equal(t, 1, p.LockVersion)
	configs, err = cl.ListProxyConfig(sid, "sandbox")
	require.NoError(t, err)
	assert.Equal(t, []int{1, 2}, pxVersions(configs))

	// Update (legacy XML).
	px, err = cl.UpdateProxy(sid, client.Params{"error_auth_failed": "Go away", "error_status_auth_failed": "401"})
	require.NoError(t, err)
	assert.Equal(t, sid, px.ServiceID)
	assert.Equal(t, "Go away", px.ErrorAuthFailed)
	assert.Equal(t, "401", px.ErrorStatusAuthFailed)
	assert.Equal(t, "https://shop.example.com:8443", px.Endpoint)
	assert.Equal(t, "http://shop.internal:8080", px.ApiBackend)
	assert.Equal(t, "2", px.LockVersion)
	pj, err = cl.ProductProxy(id)
	require.NoError(t, err)
	assert.Equal(t, "Go away", pj.Element.ErrorAuthFailed)
	assert.Equal(t, 401, pj.Element.ErrorStatusAuthFailed)

	// Explicit deploys each add a sandbox version.
	pj, err = cl.DeployProductProxy(id)
	require.NoError(t, err)
	assert.Equal(t, id, pj.Element.ServiceID)
	assert.Equal(t, "https://shop.example.com:8443", pj.Element.Endpoint)
	_, err = cl.DeployProductProxy(id)
	require.NoError(t, err)
	configs, err = cl.ListProxyConfig(sid, "sandbox")
	require.NoError(t, err)
	assert.Equal(t, []int{1, 2, 3, 4, 5}, pxVersions(configs))

	// A config as APIcast reads it.
	pc, err := cl.GetProxyConfig(sid, "sandbox", "3")
	require.NoError(t, err)
	cfg := pc.ProxyConfig
	assert.NotZero(t, cfg.ID)
	assert.Equal(t, 3, cfg.Version)
	assert.Equal(t, "sandbox", cfg.Environment)
	ct := cfg.Content
	assert.Equal(t, id, ct.ID)
	assert.Equal(t, int64(1), ct.AccountID)
	assert.Equal(t, int64(1), ct.TenantID)
	assert.Equal(t, "Shop", ct.Name)
	assert.Equal(t, "shop", ct.SystemName)
	assert.Equal(t, "1", ct.BackendVersion)
	assert.Equal(t, "hosted", ct.DeploymentOption)
	assert.Equal(t, "incomplete", ct.State)
	assert.Equal(t, "request", ct.BuyerPlanChangePermission)
	assert.False(t, ct.CreatedAt.IsZero())
	assert.True(t, ct.Proxiable)
	assert.Equal(t, "service_token", ct.BackendAuthenticationType)
	cp := ct.Proxy
	assert.Equal(t, id, cp.ServiceID)
	assert.Equal(t, "https://shop.example.com:8443", cp.Endpoint)
	assert.Equal(t, "https://shop-staging.example.com", cp.SandboxEndpoint)
	assert.Equal(t, "http://shop.internal:8080", cp.APIBackend)
	assert.Equal(t, "headers", cp.CredentialsLocation)
	assert.Equal(t, "X-Key", cp.AuthUserKey)
	assert.Equal(t, "Go away", cp.ErrorAuthFailed)
	assert.Equal(t, int64(401), cp.ErrorStatusAuthFailed)
	assert.Equal(t, int64(410), cp.ErrorStatusNoMatch)
	assert.Equal(t, p.SecretToken, cp.SecretToken)
	require.NotNil(t, cp.HostnameRewrite)
	assert.Equal(t, "shop.upstream", *cp.HostnameRewrite)
	assert.Equal(t, "shop.upstream", cp.HostnameRewriteForSandbox)
	assert.Equal(t, int64(8443), cp.EndpointPort)
	assert.Equal(t, int64(2), cp.LockVersion)
	assert.True(t, cp.Valid)
	assert.True(t, cp.ApicastConfigurationDriven)
	assert.Equal(t, "1", cp.ServiceBackendVersion)
	assert.Equal(t, "1", cp.AuthenticationMethod)
	assert.Equal(t, []string{"shop.example.com", "shop-staging.example.com"}, cp.Hosts)
	assert.Equal(t, co.URL, cp.Backend.Endpoint)
	assert.Equal(t, "127.0.0.1", cp.Backend.Host)
	require.Len(t, cp.PolicyChain, 1)
	assert.Equal(t, "apicast", cp.PolicyChain[0].Name)
	assert.Equal(t, "builtin", cp.PolicyChain[0].Version)
	assert.Empty(t, cp.ProxyRules)

	latest, err := cl.GetLatestProxyConfig(sid, "sandbox")
	require.NoError(t, err)
	assert.Equal(t, 5, latest.ProxyConfig.Version)
	assert.Equal(t, "sandbox", latest.ProxyConfig.Environment)
	_, err = cl.GetLatestProxyConfig(sid, "production")
	apiErr(t, err, http.StatusNotFound)
	_, err = cl.GetProxyConfig(sid, "sandbox", "99")
	apiErr(t, err, http.StatusNotFound)

	// Promote keeps the version number and the content.
	promoted, err := cl.PromoteProxyConfig(sid, "sandbox", "2", "production")
	require.NoError(t, err)
	assert.Equal(t, 2, promoted.ProxyConfig.Version)
	assert.Equal(t, "production", promoted.ProxyConfig.Environment)
	assert.NotZero(t, promoted.ProxyConfig.ID)
	v2, err := cl.GetProxyConfig(sid, "sandbox", "2")
	require.NoError(t, err)
	assert.NotEqual(t, v2.ProxyConfig.ID, promoted.ProxyConfig.ID)
	assert.Equal(t, v2.ProxyConfig.Content, promoted.ProxyConfig.Content)
	latest, err = cl.GetLatestProxyConfig(sid, "production")
	require.NoError(t, err)
	assert.Equal(t, 2, latest.ProxyConfig.Version)
	configs, err = cl.ListProxyConfig(sid, "production")
	require.NoError(t, err)
	assert.Equal(t, []int{2}, pxVersions(configs))
	// "staging" is 3scale's other name of the sandbox.
	configs, err = cl.ListProxyConfig(sid, "staging")
	require.NoError(t, err)
	assert.Equal(t, []int{1, 2, 3, 4, 5}, pxVersions(configs))

	// The same version cannot be promoted twice into one environment.
	_, err = cl.PromoteProxyConfig(sid, "sandbox", "2", "production")
	apiErr(t, err, http.StatusUnprocessableEntity, "version")
	status, body := rawCall(t, co, http.MethodPost, "/admin/api/services/"+sid+"/proxy/configs/sandbox/3/promote.json",
		"application/x-www-form-urlencoded", "to=moon")
	assert.Contains(t, fieldErrors(t, status, body), "to")
	status, body = rawCall(t, co, http.MethodPost, "/admin/api/services/"+sid+"/proxy/configs/sandbox/3/promote.json", "", "")
	assert.Contains(t, fieldErrors(t, status, body), "to")
	status, _ = rawCall(t, co, http.MethodGet, "/admin/api/services/"+sid+"/proxy/configs/moon.json", "", "")
	assert.Equal(t, http.StatusBadRequest, status)

	// Bad proxy input names the field; the proxy is left as it was.
	_, err = cl.UpdateProductProxy(id, client.Params{"credentials_location": "cookie"})
	apiErr(t, err, http.StatusUnprocessableEntity, "credentials_location")
	status, body = rawCall(t, co, http.MethodPut, "/admin/api/services/"+sid+"/proxy.json",
		"application/x-www-form-urlencoded", "error_status_no_match=lots")
	assert.Contains(t, fieldErrors(t, status, body), "error_status_no_match")
	status, body = rawCall(t, co, http.MethodPatch, "/admin/api/services/"+sid+"/proxy.json",
		"application/x-www-form-urlencoded", "endpoint=not-a-url")
	assert.Contains(t, fieldErrors(t, status, body), "endpoint")
	pj, err = cl.ProductProxy(id)
	require.NoError(t, err)
	assert.Equal(t, "headers", pj.Element.CredentialsLocation)
	assert.Equal(t, 410, pj.Element.ErrorStatusNoMatch)
	assert.Equal(t, "No Mapping Rule matched", pj.Element.ErrorNoMatch)
	assert.Equal(t, 2, pj.Element.LockVersion)
	// lock_version is not a proxy field 3scale takes: a stale one is
	// ignored, and PATCH also takes JSON.
	status, body = rawCall(t, co, http.MethodPatch, "/admin/api/services/"+sid+"/proxy.json",
		"application/x-www-form-urlencoded", "lock_version=1&error_no_match=nope")
	require.Equal(t, http.StatusOK, status, "%s", body)
	assert.Contains(t, string(body), `"error_no_match":"nope"`)
	assert.Contains(t, string(body), `"lock_version":3`)
	status, body = rawCall(t, co, http.MethodPatch, "/admin/api/services/"+sid+"/proxy.json",
		"application/json", `{"proxy":{"lock_version":0,"error_no_match":"nothing here"}}`)
	require.Equal(t, http.StatusOK, status, "%s", body)
	assert.Contains(t, string(body), `"error_no_match":"nothing here"`)
	assert.Contains(t, string(body), `"lock_version":4`)

	// Unknown services.
	_, err = cl.ProductProxy(999)
	apiErr(t, err, http.StatusNotFound)
	_, err = cl.ReadProxy("999")
	apiErr(t, err, http.StatusNotFound)
	_, err = cl.UpdateProductProxy(999, client.Params{"endpoint": "https://x.example.com"})
	apiErr(t, err, http.StatusNotFound)
	_, err = cl.DeployProductProxy(999)
	apiErr(t, err, http.StatusNotFound)
	_, err = cl.ListProxyConfig("999", "sandbox")
	apiErr(t, err, http.StatusNotFound)
	_, err = cl.GetLatestProxyConfig("999", "sandbox")
	apiErr(t, err, http.StatusNotFound)
	_, err = cl.PromoteProxyConfig("999", "sandbox", "1", "production")
	apiErr(t, err, http.StatusNotFound)
}

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

// pxRawContent is the part of a config's content the client's structs leave
// out or flatten.
type pxRawContent struct {
	Proxy struct {
		APIBackend  *string `json:"api_backend"`
		PolicyChain []struct {
			Name          string          `json:"name"`
			Configuration json.RawMessage `json:"configuration"`
		} `json:"policy_chain"`
		ProxyRules []struct {
			Pattern               string            `json:"pattern"`
			MetricSystemName      string            `json:"metric_system_name"`
			OwnerID               int64             `json:"owner_id"`
			OwnerType             string            `json:"owner_type"`
			Parameters            []string          `json:"parameters"`
			QuerystringParameters map[string]string `json:"querystring_parameters"`
		} `json:"proxy_rules"`
	} `json:"proxy"`
}

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
	// Disabled policies stay out of the chain; a routing policy comes first.
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
		 "condition":{"operations":[{"match":"path","op":"matches","value":"/v2/.*|/v2/?"}]},
		 "replace_path":"{{original_request.path | remove_first: '/v2'}}"},
		{"url":"http://catalog.internal:8080","owner_id":`+strconv.FormatInt(catalogID, 10)+`,"owner_type":"BackendApi",
		 "condition":{"operations":[{"match":"path","op":"matches","value":"/.*"}]}}]}`,
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

func TestPolicyChainIntegration(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	id := createProduct(t, cl, "Policies", nil)
	sid := strconv.FormatInt(id, 10)

	chain, err := cl.Policies(id)
	require.NoError(t, err)
	require.Len(t, chain.Policies, 1)
	assert.Equal(t, "apicast", chain.Policies[0].Name)
	assert.Equal(t, "builtin", chain.Policies[0].Version)
	assert.Equal(t, map[string]any{}, chain.Policies[0].Configuration)
	assert.True(t, chain.Policies[0].Enabled)

	// With an upstream, a chain update deploys to the sandbox (3scale).
	_, err = cl.UpdateProductProxy(id, client.Params{"api_backend": "http://policies.internal"})
	require.NoError(t, err)

	headersConf := map[string]any{"request": []any{
		map[string]any{"op": "set", "header": "X-Portolan", "value_type": "plain", "value": "yes"},
	}}
	want := []client.PolicyConfig{
		{Name: "headers", Version: "builtin", Configuration: headersConf, Enabled: true},
		{Name: "cors", Version: "builtin", Configuration: map[string]any{"allow_origin": "*"}, Enabled: false},
		{Name: "apicast", Version: "builtin", Configuration: map[string]any{}, Enabled: true},
	}
	got, err := cl.UpdatePolicies(id, &client.PoliciesConfigList{Policies: want})
	require.NoError(t, err)
	require.Len(t, got.Policies, 3)
	for i := range want {
		assert.Equal(t, want[i].Name, got.Policies[i].Name)
		assert.Equal(t, want[i].Version, got.Policies[i].Version)
		assert.Equal(t, want[i].Configuration, got.Policies[i].Configuration)
		assert.Equal(t, want[i].Enabled, got.Policies[i].Enabled)
	}
	chain, err = cl.Policies(id)
	require.NoError(t, err)
	assert.Equal(t, got.Policies, chain.Policies)

	latest, err := cl.GetLatestProxyConfig(sid, "sandbox")
	require.NoError(t, err)
	assert.Equal(t, 2, latest.ProxyConfig.Version)
	names := []string{}
	for _, pc := range latest.ProxyConfig.Content.Proxy.PolicyChain {
		names = append(names, pc.Name)
	}
	assert.Equal(t, []string{"headers", "apicast"}, names, "disabled policies stay out of the deployed chain")

	// A chain without apicast gets it at the end, as in 3scale.
	got, err = cl.UpdatePolicies(id, &client.PoliciesConfigList{Policies: []client.PolicyConfig{
		{Name: "cors", Version: "builtin", Configuration: map[string]any{"allow_origin": "*"}, Enabled: true},
	}})
	require.NoError(t, err)
	require.Len(t, got.Policies, 2)
	assert.Equal(t, "cors", got.Policies[0].Name)
	assert.True(t, got.Policies[0].Enabled)
	assert.Equal(t, "apicast", got.Policies[1].Name)
	assert.Equal(t, "builtin", got.Policies[1].Version)
	assert.True(t, got.Policies[1].Enabled)

	// 3scale's form parameter: the chain as a JSON string.
	form := url.Values{"policies_config": {`[{"name":"echo","version":"builtin","configuration":{"status":201},"enabled":true},{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`}}
	status, body := rawCall(t, co, http.MethodPut, "/admin/api/services/"+sid+"/proxy/policies.json",
		"application/x-www-form-urlencoded", form.Encode())
	require.Equal(t, http.StatusOK, status, "%s", body)
	chain, err = cl.Policies(id)
	require.NoError(t, err)
	require.Len(t, chain.Policies, 2)
	assert.Equal(t, "echo", chain.Policies[0].Name)
	assert.Equal(t, map[string]any{"status": float64(201)}, chain.Policies[0].Configuration)

	// Bad chains name policies_config and change nothing.
	for name, body := range map[string]string{
		"not an array":           `{"policies_config":{"name":"cors"}}`,
		"a string, not an array": `{"policies_config":"cors"}`,
		"missing":                `{"something":"else"}`,
		"item not an object":     `{"policies_config":["cors"]}`,
		"no name":                `{"policies_config":[{"version":"builtin","configuration":{},"enabled":true}]}`,
		"no version":             `{"policies_config":[{"name":"cors","configuration":{},"enabled":true}]}`,
		"configuration an array": `{"policies_config":[{"name":"cors","version":"builtin","configuration":[],"enabled":true}]}`,
		"configuration missing":  `{"policies_config":[{"name":"cors","version":"builtin","enabled":true}]}`,
		"enabled not a boolean":  `{"policies_config":[{"name":"cors","version":"builtin","configuration":{},"enabled":"yes"}]}`,
	} {
		status, resp := rawCall(t, co, http.MethodPut, "/admin/api/services/"+sid+"/proxy/policies.json", "application/json", body)
		assert.Contains(t, fieldErrors(t, status, resp), "policies_config", name)
	}
	chain, err = cl.Policies(id)
	require.NoError(t, err)
	assert.Equal(t, "echo", chain.Policies[0].Name)

	_, err = cl.Policies(999)
	apiErr(t, err, http.StatusNotFound)
	_, err = cl.UpdatePolicies(999, &client.PoliciesConfigList{Policies: want})
	apiErr(t, err, http.StatusNotFound)
}

func TestOIDCConfigurationIntegration(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	id := createProduct(t, cl, "Secure", nil)
	sid := strconv.FormatInt(id, 10)

	conf, err := cl.OIDCConfiguration(id)
	require.NoError(t, err)
	assert.False(t, conf.Element.StandardFlowEnabled)
	assert.False(t, conf.Element.ImplicitFlowEnabled)
	assert.False(t, conf.Element.ServiceAccountsEnabled)
	assert.False(t, conf.Element.DirectAccessGrantsEnabled)

	conf, err = cl.UpdateOIDCConfiguration(id, &client.OIDCConfiguration{Element: client.OIDCConfigurationItem{
		StandardFlowEnabled: true, ServiceAccountsEnabled: true,
	}})
	require.NoError(t, err)
	assert.True(t, conf.Element.StandardFlowEnabled)
	assert.False(t, conf.Element.ImplicitFlowEnabled)
	assert.True(t, conf.Element.ServiceAccountsEnabled)
	assert.False(t, conf.Element.DirectAccessGrantsEnabled)
	conf, err = cl.OIDCConfiguration(id)
	require.NoError(t, err)
	assert.True(t, conf.Element.StandardFlowEnabled)
	assert.True(t, conf.Element.ServiceAccountsEnabled)

	// XML, with a form PATCH that changes one flow only.
	status, body := rawCall(t, co, http.MethodPatch, "/admin/api/services/"+sid+"/proxy/oidc_configuration.xml",
		"application/x-www-form-urlencoded", "direct_access_grants_enabled=true")
	require.Equal(t, http.StatusOK, status, "%s", body)
	var x struct {
		XMLName  xml.Name `xml:"oidc_configuration"`
		Standard bool     `xml:"standard_flow_enabled"`
		Implicit bool     `xml:"implicit_flow_enabled"`
		Accounts bool     `xml:"service_accounts_enabled"`
		Direct   bool     `xml:"direct_access_grants_enabled"`
	}
	require.NoError(t, xml.Unmarshal(body, &x), "%s", body)
	assert.True(t, x.Standard)
	assert.False(t, x.Implicit)
	assert.True(t, x.Accounts)
	assert.True(t, x.Direct)
	status, body = rawCall(t, co, http.MethodGet, "/admin/api/services/"+sid+"/proxy/oidc_configuration.xml", "", "")
	require.Equal(t, http.StatusOK, status)
	require.NoError(t, xml.Unmarshal(body, &x), "%s", body)
	assert.True(t, x.Direct)

	status, body = rawCall(t, co, http.MethodPatch, "/admin/api/services/"+sid+"/proxy/oidc_configuration.json",
		"application/json", `{"oidc_configuration":{"implicit_flow_enabled":"sometimes"}}`)
	assert.Contains(t, fieldErrors(t, status, body), "implicit_flow_enabled")
	conf, err = cl.OIDCConfiguration(id)
	require.NoError(t, err)
	assert.False(t, conf.Element.ImplicitFlowEnabled)

	_, err = cl.OIDCConfiguration(999)
	apiErr(t, err, http.StatusNotFound)
	_, err = cl.UpdateOIDCConfiguration(999, &client.OIDCConfiguration{})
	apiErr(t, err, http.StatusNotFound)
}

// pxManifest is an APIcast policy manifest of the real built-in policies.
type pxManifest struct {
	Schema        string          `json:"$schema"`
	Name          string          `json:"name"`
	Summary       string          `json:"summary"`
	Version       string          `json:"version"`
	Description   json.RawMessage `json:"description"`
	Configuration json.RawMessage `json:"configuration"`
}

func pxPolicySchema(t *testing.T, m pxManifest) *client.APIcastPolicySchema {
	t.Helper()
	var desc []string
	require.NoError(t, json.Unmarshal(m.Description, &desc), "the client only takes list descriptions")
	conf := m.Configuration
	return &client.APIcastPolicySchema{
		Summary: &m.Summary, Description: &desc, Name: &m.Name, Schema: &m.Schema, Version: &m.Version, Configuration: &conf,
	}
}

func TestPolicyRegistryIntegration(t *testing.T) {
	var manifests struct {
		Policies map[string][]pxManifest `json:"policies"`
	}
	require.NoError(t, json.Unmarshal(sharedFile(t, "apicast/policies.json"), &manifests))
	headers, cors := manifests.Policies["headers"], manifests.Policies["cors"]
	require.NotEmpty(t, headers)
	require.NotEmpty(t, cors)

	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	str := func(s string) *string { return &s }

	created := map[string]int64{}
	for name, m := range map[string]pxManifest{"my_headers": headers[0], "my_cors": cors[0]} {
		schema := pxPolicySchema(t, m)
		p, err := cl.CreateAPIcastPolicy(&client.APIcastPolicy{Element: client.APIcastPolicyItem{
			Name: str(name), Version: str("1.0.0"), Schema: schema,
		}})
		require.NoError(t, err)
		e := p.Element
		require.NotNil(t, e.ID)
		assert.Equal(t, name, *e.Name)
		assert.Equal(t, "1.0.0", *e.Version)
		require.NotNil(t, e.Schema)
		assert.Equal(t, m.Name, *e.Schema.Name)
		assert.Equal(t, m.Summary, *e.Schema.Summary)
		assert.Equal(t, m.Schema, *e.Schema.Schema)
		assert.Equal(t, m.Version, *e.Schema.Version)
		assert.Equal(t, *schema.Description, *e.Schema.Description)
		assert.JSONEq(t, string(m.Configuration), string(*e.Schema.Configuration))
		require.NotNil(t, e.CreatedAt)
		require.NotNil(t, e.UpdatedAt)
		created[name] = *e.ID
	}

	list, err := cl.ListAPIcastPolicies()
	require.NoError(t, err)
	require.Len(t, list.Items, 2)
	for _, it := range list.Items {
		assert.Equal(t, created[*it.Element.Name], *it.Element.ID)
		assert.Equal(t, "1.0.0", *it.Element.Version)
	}

	id := created["my_headers"]
	p, err := cl.ReadAPIcastPolicy(id)
	require.NoError(t, err)
	assert.Equal(t, id, *p.Element.ID)
	assert.Equal(t, "my_headers", *p.Element.Name)
	assert.Equal(t, headers[0].Summary, *p.Element.Schema.Summary)

	// 3scale also finds a policy by "name-version".
	status, body := rawCall(t, co, http.MethodGet, "/admin/api/registry/policies/my_headers-1.0.0.json", "", "")
	require.Equal(t, http.StatusOK, status, "%s", body)
	var byName client.APIcastPolicy
	require.NoError(t, json.Unmarshal(body, &byName))
	assert.Equal(t, id, *byName.Element.ID)
	assert.Contains(t, string(body), `"summary":`+strconv.Quote(headers[0].Summary))

	schema := pxPolicySchema(t, headers[0])
	schema.Summary = str("Sets headers, Portolan edition")
	p, err = cl.UpdateAPIcastPolicy(&client.APIcastPolicy{Element: client.APIcastPolicyItem{
		ID: &id, Name: str("my_headers"), Version: str("1.1.0"), Schema: schema,
	}})
	require.NoError(t, err)
	assert.Equal(t, id, *p.Element.ID)
	assert.Equal(t, "1.1.0", *p.Element.Version)
	assert.Equal(t, "Sets headers, Portolan edition", *p.Element.Schema.Summary)
	p, err = cl.ReadAPIcastPolicy(id)
	require.NoError(t, err)
	assert.Equal(t, "1.1.0", *p.Element.Version)

	// Bad input names the field.
	_, err = cl.CreateAPIcastPolicy(&client.APIcastPolicy{Element: client.APIcastPolicyItem{
		Name: str("my_cors"), Version: str("1.0.0"), Schema: pxPolicySchema(t, cors[0]),
	}})
	apiErr(t, err, http.StatusUnprocessableEntity, "version")
	status, body = rawCall(t, co, http.MethodPost, "/admin/api/registry/policies.json", "application/json",
		`{"name":"broken","version":"1","schema":[1,2]}`)
	assert.Contains(t, fieldErrors(t, status, body), "schema")
	status, body = rawCall(t, co, http.MethodPost, "/admin/api/registry/policies.json", "application/x-www-form-urlencoded",
		"name=broken&version=1&schema=%7Bnot+json")
	assert.Contains(t, fieldErrors(t, status, body), "schema")
	status, body = rawCall(t, co, http.MethodPost, "/admin/api/registry/policies.json", "application/json",
		`{"version":"1","schema":{"name":"x"}}`)
	assert.Contains(t, fieldErrors(t, status, body), "name")
	// The schema as a string holding JSON, as 3scale's form parameter.
	status, body = rawCall(t, co, http.MethodPost, "/admin/api/registry/policies.json", "application/x-www-form-urlencoded",
		url.Values{"name": {"form_policy"}, "version": {"0.1"}, "schema": {`{"name":"Form","summary":"s","version":"0.1","configuration":{}}`}}.Encode())
	require.Equal(t, http.StatusCreated, status, "%s", body)
	assert.Contains(t, string(body), `"schema":{"name":"Form"`)

	require.NoError(t, cl.DeleteAPIcastPolicy(id))
	_, err = cl.ReadAPIcastPolicy(id)
	apiErr(t, err, http.StatusNotFound)
	apiErr(t, cl.DeleteAPIcastPolicy(id), http.StatusNotFound)
	_, err = cl.UpdateAPIcastPolicy(&client.APIcastPolicy{Element: client.APIcastPolicyItem{ID: &id, Name: str("x")}})
	apiErr(t, err, http.StatusNotFound)
	list, err = cl.ListAPIcastPolicies()
	require.NoError(t, err)
	assert.Len(t, list.Items, 2)
}

func TestUnsupportedCallsIntegration(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	master := func(err error) {
		t.Helper()
		apiErr(t, err, http.StatusNotFound, "Master API (tenants) is not supported")
	}
	_, err := cl.CreateTenant("Org", "admin", "admin@example.com", "secret")
	master(err)
	_, err = cl.ShowTenant(3)
	master(err)
	_, err = cl.UpdateTenant(3, client.Params{"org_name": "x"})
	master(err)
	master(cl.DeleteTenant(3))

	endUser := func(err error) {
		t.Helper()
		apiErr(t, err, http.StatusNotFound, "end user plans are not supported")
	}
	_, err = cl.ListLimitsPerEndUserPlan("1", "2")
	endUser(err)
	_, err = cl.CreateLimitEndUserPlan("1", "2", "day", 10)
	endUser(err)
	_, err = cl.UpdateLimitPerEndUserPlan("1", "2", "3", client.Params{"value": "5"})
	endUser(err)
	endUser(cl.DeleteLimitPerEndUserPlan("1", "2", "3"))

	status, body := rawCall(t, co, http.MethodGet, "/master/api/providers/3.json", "", "")
	assert.Equal(t, http.StatusNotFound, status)
	assert.JSONEq(t, `{"status":"Not found","error":"the Master API (tenants) is not supported by Portolan"}`, string(body))
	status, body = rawCall(t, co, http.MethodPost, "/master/api/providers/3/billing_jobs.xml", "", "")
	assert.Equal(t, http.StatusNotFound, status)
	assert.Contains(t, string(body), "<error>the Master API (tenants) is not supported by Portolan</error>")
	// Still behind the token.
	resp, err := http.Get(co.URL + "/master/api/providers/3.json")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
}
