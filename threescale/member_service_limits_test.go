package threescale_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// idIn returns the id of the entity under wrapper in a JSON answer.
func idIn(t *testing.T, body, wrapper string) int64 {
	t.Helper()
	var m map[string]struct {
		ID int64 `json:"id"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &m), body)
	require.NotZero(t, m[wrapper].ID, body)
	return m[wrapper].ID
}

// newMemberOfServiceA makes services A and B, each deployed to sandbox,
// and a provider member limited to A with sections partners, monitoring
// and plans; it returns the services and the member's rw
// account_management token.
func newMemberOfServiceA(t *testing.T, e *tokenEnv) (a, b int64, token string) {
	t.Helper()
	var ids []int64
	for _, name := range []string{"Service A", "Service B"} {
		status, body := e.call(t, bootstrapToken, http.MethodPost, "/admin/api/services.json", url.Values{"name": {name}})
		require.Equal(t, http.StatusCreated, status, body)
		id := idIn(t, body, "service")
		status, body = e.call(t, bootstrapToken, http.MethodPost, "/admin/api/services/"+itoa(id)+"/proxy/deploy.json", nil)
		require.Equal(t, http.StatusCreated, status, body)
		ids = append(ids, id)
	}
	a, b = ids[0], ids[1]
	status, body := e.call(t, bootstrapToken, http.MethodPost, "/admin/api/users.json",
		url.Values{"username": {"pat"}, "email": {"pat@provider.example"}})
	require.Equal(t, http.StatusCreated, status, body)
	user := itoa(idIn(t, body, "user"))
	status, body = e.call(t, bootstrapToken, http.MethodPut, "/admin/api/users/"+user+"/permissions.json", url.Values{
		"allowed_sections[]": {"partners", "monitoring", "plans"}, "allowed_service_ids[]": {itoa(a)}})
	require.Equal(t, http.StatusOK, status, body)
	status, body = e.call(t, bootstrapToken, http.MethodPost, "/admin/api/users/"+user+"/access_tokens.json", url.Values{
		"name": {"pat"}, "permission": {"rw"}, "scopes[]": {"account_management"}})
	require.Equal(t, http.StatusCreated, status, body)
	var tok struct {
		AccessToken struct {
			Value string `json:"value"`
		} `json:"access_token"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &tok), body)
	require.NotEmpty(t, tok.AccessToken.Value, body)
	return a, b, tok.AccessToken.Value
}

// porta lists the proxy configs of (current_user || current_account).accessible_services:
// a member limited to service A gets none of service B's, whose content
// holds B's secret token.
func TestMemberProxyConfigsListOnlyReachableServices(t *testing.T) {
	e := newTokenEnv(t, 0)
	a, b, token := newMemberOfServiceA(t, e)
	services := func(tok string) map[int64]bool {
		status, body := e.call(t, tok, http.MethodGet, "/admin/api/account/proxy_configs/sandbox.json", nil)
		require.Equal(t, http.StatusOK, status, body)
		var list struct {
			ProxyConfigs []struct {
				ProxyConfig struct {
					ServiceID int64 `json:"service_id"`
				} `json:"proxy_config"`
			} `json:"proxy_configs"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &list), body)
		seen := map[int64]bool{}
		for _, pc := range list.ProxyConfigs {
			seen[pc.ProxyConfig.ServiceID] = true
		}
		return seen
	}
	admin := services(bootstrapToken)
	require.True(t, admin[a] && admin[b], "the admin lists A's and B's sandbox configs: %v", admin)
	member := services(token)
	assert.True(t, member[a], "a member limited to A lists A's config")
	assert.False(t, member[b], "a member limited to A lists B's config")
}

// porta's ApiDocsServicesController finds a member's active docs among
// those of its accessible services or of none (another service's doc is
// 404), and answers a create or update binding a doc to a service out of
// reach with 422 "Service not found".
func TestMemberActiveDocsOnlyOfReachableServices(t *testing.T) {
	e := newTokenEnv(t, 0)
	a, b, token := newMemberOfServiceA(t, e)
	spec := `{"openapi":"3.0.0","info":{"title":"Spec","version":"1"},"paths":{}}`
	doc := func(tok, name string, service int64) (int, string) {
		form := url.Values{"name": {name}, "body": {spec}}
		if service != 0 {
			form.Set("service_id", itoa(service))
		}
		return e.call(t, tok, http.MethodPost, "/admin/api/active_docs.json", form)
	}
	status, body := doc(bootstrapToken, "B docs", b)
	require.Equal(t, http.StatusCreated, status, body)
	docB := "/admin/api/active_docs/" + itoa(idIn(t, body, "api_doc")) + ".json"
	status, body = doc(bootstrapToken, "Unbound docs", 0)
	require.Equal(t, http.StatusCreated, status, body)
	unbound := "/admin/api/active_docs/" + itoa(idIn(t, body, "api_doc")) + ".json"

	status, list := e.call(t, token, http.MethodGet, "/admin/api/active_docs.json", nil)
	require.Equal(t, http.StatusOK, status, list)
	assert.NotContains(t, list, "B docs", "a member limited to A lists B's doc")
	assert.Contains(t, list, "Unbound docs", "a doc of no service is every member's")
	for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
		status, body = e.call(t, token, method, docB, url.Values{"description": {"mine"}})
		assert.Equal(t, http.StatusNotFound, status, "%s B's doc: %s", method, body)
	}

	status, body = doc(token, "mine on B", b)
	assert.Equal(t, http.StatusUnprocessableEntity, status, "a member limited to A binds a new doc to B: %s", body)
	assert.Contains(t, body, "Service not found")
	status, body = e.call(t, token, http.MethodPut, unbound, url.Values{"service_id": {itoa(b)}})
	assert.Equal(t, http.StatusUnprocessableEntity, status, "a member limited to A binds a doc to B: %s", body)
	assert.Contains(t, body, "Service not found")

	status, body = doc(token, "mine on A", a)
	require.Equal(t, http.StatusCreated, status, body)
	status, body = e.call(t, token, http.MethodPut, unbound, url.Values{"service_id": {itoa(a)}})
	assert.Equal(t, http.StatusOK, status, "a member limited to A binds a doc to A: %s", body)
	status, body = e.call(t, bootstrapToken, http.MethodPut, docB, url.Values{"description": {"the admin's"}})
	assert.Equal(t, http.StatusOK, status, "the admin edits B's doc: %s", body)
}
