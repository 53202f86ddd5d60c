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

// The proxy as the official clients use it (issue 14: items 1, 2, 4 and 10):
// the toolbox's copy sends all of a proxy's JSON back, resolves paths against
// the public base URLs, and exports a product's private base URL from its
// backends.

// proxyJSON reads a proxy as the 3scale-api gem does and returns its members.
func proxyJSON(t *testing.T, co *testenv.Coordinator, id int64) map[string]any {
	t.Helper()
	status, body := rawCall(t, co, http.MethodGet, "/admin/api/services/"+strconv.FormatInt(id, 10)+"/proxy.json", "", "")
	require.Equal(t, http.StatusOK, status, "%s", body)
	var out struct {
		Proxy map[string]any `json:"proxy"`
	}
	require.NoError(t, json.Unmarshal(body, &out), "%s", body)
	require.NotNil(t, out.Proxy, "%s", body)
	return out.Proxy
}

// copyProxy does what the toolbox's CopyServiceProxyTask does for a hosted
// product: PATCH the target with the source's proxy, minus its public base
// URLs, as {"proxy": {...}}.
func copyProxy(t *testing.T, co *testenv.Coordinator, from, to int64) (int, []byte) {
	t.Helper()
	src := proxyJSON(t, co, from)
	delete(src, "endpoint")
	delete(src, "sandbox_endpoint")
	body, err := json.Marshal(map[string]any{"proxy": src})
	require.NoError(t, err)
	return rawCall(t, co, http.MethodPatch, "/admin/api/services/"+strconv.FormatInt(to, 10)+"/proxy.json", "application/json", string(body))
}

func TestProxyUpdateIgnoresLockVersionAsPortaIntegration(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	source := createProduct(t, cl, "Copy Source", nil)
	_, err := cl.UpdateProductProxy(source, client.Params{"credentials_location": "headers", "auth_user_key": "X-Key"})
	require.NoError(t, err)
	pj, err := cl.UpdateProductProxy(source, client.Params{"error_no_match": "Nothing here", "error_status_no_match": "410"})
	require.NoError(t, err)
	require.Equal(t, 2, pj.Element.LockVersion)
	target := createProduct(t, cl, "Copy Target", nil)

	// The toolbox's copy, twice in a row: the source's lock_version (2)
	// never matches the target's, and 3scale ignores it with the rest of
	// what is not a proxy field (id, links, policies_config, timestamps).
	// The second copy changes nothing, so, as in porta, nothing is saved
	// and the lock version stays.
	for run, wantLock := range []int{1, 1} {
		status, body := copyProxy(t, co, source, target)
		require.Equal(t, http.StatusOK, status, "copy %d: %s", run+1, body)
		var got client.ProxyJSON
		require.NoError(t, json.Unmarshal(body, &got), "%s", body)
		assert.Equal(t, target, got.Element.ServiceID, "the service_id sent is not taken")
		assert.Equal(t, "headers", got.Element.CredentialsLocation)
		assert.Equal(t, "X-Key", got.Element.AuthUserKey)
		assert.Equal(t, "Nothing here", got.Element.ErrorNoMatch)
		assert.Equal(t, 410, got.Element.ErrorStatusNoMatch)
		assert.Equal(t, wantLock, got.Element.LockVersion, "copy %d: the lock version is the target's own", run+1)
	}

	// A form update with a stale lock_version is applied too.
	status, body := rawCall(t, co, http.MethodPut, "/admin/api/services/"+strconv.FormatInt(target, 10)+"/proxy.json",
		"application/x-www-form-urlencoded", "lock_version=0&error_auth_failed=Denied")
	require.Equal(t, http.StatusOK, status, "%s", body)
	pj, err = cl.ProductProxy(target)
	require.NoError(t, err)
	assert.Equal(t, "Denied", pj.Element.ErrorAuthFailed)
	assert.Equal(t, 2, pj.Element.LockVersion)
}

func TestNewProxyHasDefaultPublicBaseURLsIntegration(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	id := createProduct(t, cl, "My Shop API", client.Params{"system_name": "my_shop_api"})
	const (
		production = "http://my-shop-api-1.portolan.localhost:8080"
		staging    = "http://my-shop-api-1.staging.portolan.localhost:8080"
	)

	pj, err := cl.ProductProxy(id)
	require.NoError(t, err)
	assert.Equal(t, production, pj.Element.Endpoint)
	assert.Equal(t, staging, pj.Element.SandboxEndpoint)
	px, err := cl.ReadProxy(strconv.FormatInt(id, 10))
	require.NoError(t, err)
	assert.Equal(t, production, px.Endpoint)
	assert.Equal(t, staging, px.SandboxEndpoint)
	// What the toolbox does with them (URI.join): a path resolves.
	for _, e := range []string{pj.Element.Endpoint, pj.Element.SandboxEndpoint} {
		base, err := url.Parse(e)
		require.NoError(t, err)
		require.True(t, base.IsAbs(), "%q is not absolute", e)
		assert.Equal(t, base.Host, base.ResolveReference(&url.URL{Path: "/openapi.json"}).Host)
	}

	// Set ones are kept; blanking one gives the default back.
	pj, err = cl.UpdateProductProxy(id, client.Params{"endpoint": "https://shop.example.com"})
	require.NoError(t, err)
	assert.Equal(t, "https://shop.example.com", pj.Element.Endpoint)
	assert.Equal(t, staging, pj.Element.SandboxEndpoint)
	pj, err = cl.UpdateProductProxy(id, client.Params{"endpoint": ""})
	require.NoError(t, err)
	assert.Equal(t, production, pj.Element.Endpoint)

	// The deployed config serves the default hosts.
	pc, err := cl.GetLatestProxyConfig(strconv.FormatInt(id, 10), "sandbox")
	require.NoError(t, err)
	assert.Equal(t, []string{"my-shop-api-1.portolan.localhost", "my-shop-api-1.staging.portolan.localhost"}, pc.ProxyConfig.Content.Proxy.Hosts)

	// A composition imported without proxies shows the defaults too.
	status, body := rawCall(t, co, http.MethodPost, "/admin/portolan/composition", "application/json",
		`{"format":"portolan.composition/v1","services":[{"id":7,"name":"Imported","system_name":"imported"}]}`)
	require.Equal(t, http.StatusCreated, status, "%s", body)
	products, err := cl.ListProducts()
	require.NoError(t, err)
	var imported int64
	for _, p := range products.Products {
		if p.Element.SystemName == "imported" {
			imported = p.Element.ID
		}
	}
	require.NotZero(t, imported)
	pj, err = cl.ProductProxy(imported)
	require.NoError(t, err)
	assert.Equal(t, "http://imported-1.portolan.localhost:8080", pj.Element.Endpoint)
	assert.Equal(t, "http://imported-1.staging.portolan.localhost:8080", pj.Element.SandboxEndpoint)
}

// productBackends returns a product's backend usages and their backend APIs,
// read as `3scale product export` reads them.
func productBackends(t *testing.T, cl *client.ThreeScaleClient, id int64) ([]client.BackendAPIUsageItem, []client.BackendApiItem) {
	t.Helper()
	usages, err := cl.ListBackendapiUsages(id)
	require.NoError(t, err)
	var us []client.BackendAPIUsageItem
	var bs []client.BackendApiItem
	for _, u := range usages {
		us = append(us, u.Element)
		b, err := cl.BackendApi(u.Element.BackendAPIID)
		require.NoError(t, err)
		bs = append(bs, b.Element)
	}
	return us, bs
}

func TestProxyAPIBackendIsTheDefaultBackendIntegration(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	id := createProduct(t, cl, "Shop", nil)
	sid := strconv.FormatInt(id, 10)

	// Setting api_backend creates 3scale's default backend, used at "/".
	pj, err := cl.UpdateProductProxy(id, client.Params{"api_backend": "https://shop.internal:8443"})
	require.NoError(t, err)
	assert.Equal(t, "https://shop.internal:8443", pj.Element.ApiBackend)
	usages, backends := productBackends(t, cl, id)
	require.Len(t, usages, 1, "a default backend usage")
	assert.Equal(t, "/", usages[0].Path)
	assert.Equal(t, id, usages[0].ProductID)
	b := backends[0]
	assert.Equal(t, "Shop Backend API", b.Name)
	assert.Equal(t, "shop", b.SystemName)
	assert.Equal(t, "Backend API of Shop", b.Description)
	assert.Equal(t, "https://shop.internal:8443", b.PrivateEndpoint)
	hits, err := cl.ListBackendapiMetrics(b.ID)
	require.NoError(t, err)
	require.Len(t, hits.Metrics, 1, "the backend has its hits metric")
	pc, err := cl.GetLatestProxyConfig(sid, "sandbox")
	require.NoError(t, err)
	assert.Equal(t, "https://shop.internal:8443", pc.ProxyConfig.Content.Proxy.APIBackend)

	// Setting it again changes that backend; no second one is made.
	pj, err = cl.UpdateProductProxy(id, client.Params{"api_backend": "http://shop-v2.internal"})
	require.NoError(t, err)
	assert.Equal(t, "http://shop-v2.internal", pj.Element.ApiBackend)
	usages, backends = productBackends(t, cl, id)
	require.Len(t, usages, 1)
	assert.Equal(t, b.ID, backends[0].ID)
	assert.Equal(t, "http://shop-v2.internal", backends[0].PrivateEndpoint)
	list, err := cl.ListBackendApis()
	require.NoError(t, err)
	assert.Len(t, list.Backends, 1)

	// api_backend is the backend's private endpoint, whichever side changes it.
	_, err = cl.UpdateBackendApi(b.ID, client.Params{"private_endpoint": "http://shop-v3.internal"})
	require.NoError(t, err)
	pj, err = cl.ProductProxy(id)
	require.NoError(t, err)
	assert.Equal(t, "http://shop-v3.internal", pj.Element.ApiBackend)
	px, err := cl.ReadProxy(sid)
	require.NoError(t, err)
	assert.Equal(t, "http://shop-v3.internal", px.ApiBackend)

	// A bad or blank one names api_backend and changes nothing.
	status, body := rawCall(t, co, http.MethodPatch, "/admin/api/services/"+sid+"/proxy.json",
		"application/x-www-form-urlencoded", "api_backend=not-a-url&error_no_match=changed")
	assert.Contains(t, fieldErrors(t, status, body), "api_backend")
	status, body = rawCall(t, co, http.MethodPatch, "/admin/api/services/"+sid+"/proxy.json",
		"application/json", `{"proxy":{"api_backend":null}}`)
	assert.Contains(t, fieldErrors(t, status, body), "api_backend")
	pj, err = cl.ProductProxy(id)
	require.NoError(t, err)
	assert.Equal(t, "http://shop-v3.internal", pj.Element.ApiBackend)
	assert.Equal(t, "No Mapping Rule matched", pj.Element.ErrorNoMatch)
	list, err = cl.ListBackendApis()
	require.NoError(t, err)
	assert.Len(t, list.Backends, 1)

	// A product already using a backend: api_backend is that backend's.
	search, err := cl.CreateBackendApi(client.Params{"name": "Search", "private_endpoint": "http://search.internal"})
	require.NoError(t, err)
	other := createProduct(t, cl, "Other", nil)
	_, err = cl.CreateBackendapiUsage(other, client.Params{"backend_api_id": strconv.FormatInt(search.Element.ID, 10), "path": "/search"})
	require.NoError(t, err)
	pj, err = cl.ProductProxy(other)
	require.NoError(t, err)
	assert.Equal(t, "http://search.internal", pj.Element.ApiBackend)
	_, err = cl.UpdateProductProxy(other, client.Params{"api_backend": "http://search-v2.internal"})
	require.NoError(t, err)
	usages, backends = productBackends(t, cl, other)
	require.Len(t, usages, 1)
	assert.Equal(t, "/search", usages[0].Path)
	assert.Equal(t, "http://search-v2.internal", backends[0].PrivateEndpoint)

	// A backend that took the product's system name first keeps it.
	_, err = cl.CreateBackendApi(client.Params{"name": "Store", "private_endpoint": "http://legacy-store.internal"})
	require.NoError(t, err)
	store := createProduct(t, cl, "Store", nil)
	_, err = cl.UpdateProductProxy(store, client.Params{"api_backend": "http://store.internal"})
	require.NoError(t, err)
	_, backends = productBackends(t, cl, store)
	require.Len(t, backends, 1)
	assert.Equal(t, "store_2", backends[0].SystemName)
	assert.Equal(t, "http://store.internal", backends[0].PrivateEndpoint)

	// A product without backends takes a blank api_backend as nothing to do.
	plain := createProduct(t, cl, "Plain", nil)
	status, body = rawCall(t, co, http.MethodPatch, "/admin/api/services/"+strconv.FormatInt(plain, 10)+"/proxy.json",
		"application/json", `{"proxy":{"api_backend":null,"error_no_match":"none"}}`)
	require.Equal(t, http.StatusOK, status, "%s", body)
	usages, _ = productBackends(t, cl, plain)
	assert.Empty(t, usages)
}

func TestProxyDeployWithoutBackendDeploysIntegration(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	id := createProduct(t, cl, "Bare", nil)
	sid := strconv.FormatInt(id, 10)

	// As porta's ProxyDeploymentService: a product without backends is
	// deployed, with a null api_backend, and its sandbox config is readable.
	pj, err := cl.DeployProductProxy(id)
	require.NoError(t, err)
	assert.Equal(t, id, pj.Element.ServiceID)
	latest, err := cl.GetLatestProxyConfig(sid, "sandbox")
	require.NoError(t, err)
	assert.Equal(t, 1, latest.ProxyConfig.Version)
	assert.Equal(t, id, latest.ProxyConfig.Content.ID)
	status, body := rawCall(t, co, http.MethodGet, "/admin/api/services/"+sid+"/proxy/configs/sandbox/latest.json", "", "")
	require.Equal(t, http.StatusOK, status, "%s", body)
	var raw struct {
		ProxyConfig struct {
			Content pxRawContent `json:"content"`
		} `json:"proxy_config"`
	}
	require.NoError(t, json.Unmarshal(body, &raw), "%s", body)
	assert.Nil(t, raw.ProxyConfig.Content.Proxy.APIBackend, "api_backend is null without a backend")

	// Promotable like any other.
	promoted, err := cl.PromoteProxyConfig(sid, "sandbox", "1", "production")
	require.NoError(t, err)
	assert.Equal(t, 1, promoted.ProxyConfig.Version)

	// A proxy update deploys a changed config, as 3scale does.
	_, err = cl.UpdateProductProxy(id, client.Params{"error_auth_failed": "Denied"})
	require.NoError(t, err)
	configs, err := cl.ListProxyConfig(sid, "sandbox")
	require.NoError(t, err)
	assert.Equal(t, []int{1, 2}, pxVersions(configs))
}
