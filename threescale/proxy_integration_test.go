package threescale_test

import (
	"encoding/json"
	"net/http"
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
