package threescale_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// Behind a reverse proxy terminating TLS, home is reached at its
// --public-url, not at the address the proxy forwards to: every URL its
// answers carry starts with the public one (the provider account's base
// URLs, a deployed proxy config's backend endpoint, an authentication
// provider's callback), whatever Host, X-Forwarded-Host or
// X-Forwarded-Proto the request holds.
func TestAnswersCarryThePublicURL(t *testing.T) {
	co := testenv.StartCoordinator(t, "--public-url", "https://Home.Example.com:443")
	call := func(method, path string, form url.Values) (int, []byte) {
		t.Helper()
		req, err := http.NewRequest(method, co.URL+path, strings.NewReader(form.Encode()))
		require.NoError(t, err)
		req.SetBasicAuth("", co.Token)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Host = "10.1.2.3:7070" // home's address, as the proxy forwards to it
		req.Header.Set("X-Forwarded-Host", "attacker.example")
		req.Header.Set("X-Forwarded-Proto", "http")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, b
	}

	status, body := call(http.MethodGet, "/admin/api/provider.json", nil)
	require.Equal(t, http.StatusOK, status, "%s", body)
	var provider struct {
		Account struct {
			AdminDomain  string `json:"admin_domain"`
			AdminBaseURL string `json:"admin_base_url"`
			BaseURL      string `json:"base_url"`
		} `json:"account"`
	}
	require.NoError(t, json.Unmarshal(body, &provider), "%s", body)
	assert.Equal(t, "https://home.example.com", provider.Account.AdminBaseURL)
	assert.Equal(t, "https://home.example.com", provider.Account.BaseURL)
	assert.Equal(t, "home.example.com", provider.Account.AdminDomain)

	status, body = call(http.MethodPost, "/admin/api/services.json", url.Values{"name": {"Shop"}, "system_name": {"shop"}})
	require.Equal(t, http.StatusCreated, status, "%s", body)
	var svc struct {
		Service struct{ ID int64 } `json:"service"`
	}
	require.NoError(t, json.Unmarshal(body, &svc), "%s", body)
	sid := strconv.FormatInt(svc.Service.ID, 10)
	status, body = call(http.MethodPost, "/admin/api/services/"+sid+"/proxy/deploy.json", nil)
	require.Equal(t, http.StatusCreated, status, "%s", body)
	status, body = call(http.MethodGet, "/admin/api/services/"+sid+"/proxy/configs/sandbox/latest.json", nil)
	require.Equal(t, http.StatusOK, status, "%s", body)
	var config struct {
		ProxyConfig struct {
			Content struct {
				Proxy struct {
					Backend struct{ Endpoint, Host string } `json:"backend"`
				} `json:"proxy"`
			} `json:"content"`
		} `json:"proxy_config"`
	}
	require.NoError(t, json.Unmarshal(body, &config), "%s", body)
	assert.Equal(t, "https://home.example.com", config.ProxyConfig.Content.Proxy.Backend.Endpoint, "APIcast reports to the public URL")
	assert.Equal(t, "home.example.com", config.ProxyConfig.Content.Proxy.Backend.Host)

	status, body = call(http.MethodPost, "/admin/api/account/authentication_providers.json", url.Values{
		"kind": {"keycloak"}, "client_id": {"portolan"}, "client_secret": {"s3cret"}, "site": {"https://sso.example/auth/realms/acme"}})
	require.Equal(t, http.StatusCreated, status, "%s", body)
	var ap struct {
		Provider struct {
			CallbackURL string `json:"callback_url"`
		} `json:"authentication_provider"`
	}
	require.NoError(t, json.Unmarshal(body, &ap), "%s", body)
	assert.Equal(t, "https://home.example.com/auth/keycloak/callback", ap.Provider.CallbackURL)
}

// Without --public-url a deployed proxy config reports to home as the
// request reached it: X-Forwarded-Host and X-Forwarded-Proto, which
// anything between a client and home can write, would send every
// gateway's usage reports to a host of their choosing.
func TestProxyConfigBackendIgnoresForwardedHeaders(t *testing.T) {
	co := testenv.StartCoordinator(t)
	status, body := rawCall(t, co, http.MethodPost, "/admin/api/services.json", "application/x-www-form-urlencoded", "name=Shop&system_name=shop")
	require.Equal(t, http.StatusCreated, status, "%s", body)
	var svc struct {
		Service struct{ ID int64 } `json:"service"`
	}
	require.NoError(t, json.Unmarshal(body, &svc), "%s", body)
	req, err := http.NewRequest(http.MethodPost, co.URL+"/admin/api/services/"+strconv.FormatInt(svc.Service.ID, 10)+"/proxy/deploy.json", nil)
	require.NoError(t, err)
	req.SetBasicAuth("", co.Token)
	req.Header.Set("X-Forwarded-Host", "attacker.example")
	req.Header.Set("X-Forwarded-Proto", "https")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)

	status, body = rawCall(t, co, http.MethodGet, "/admin/api/services/"+strconv.FormatInt(svc.Service.ID, 10)+"/proxy/configs/sandbox/latest.json", "", "")
	require.Equal(t, http.StatusOK, status, "%s", body)
	assert.Contains(t, string(body), `"endpoint":"http://`+strings.TrimPrefix(co.URL, "http://")+`"`, "home as the request reached it")
	assert.NotContains(t, string(body), "attacker.example")
}
