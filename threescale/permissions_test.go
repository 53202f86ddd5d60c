package threescale_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every route of the table carries the admin section a provider member
// needs for it, one of porta's or Portolan's admin-only and self-only
// marks: a route added without one fails here.
func TestEveryRouteNeedsAKnownSection(t *testing.T) {
	api, _, _ := newAPIServer(t)
	known := map[string]bool{"partners": true, "monitoring": true, "plans": true, "policy_registry": true,
		"admin": true, "self": true}
	for _, rt := range api.Routes() {
		assert.True(t, known[rt.Section], "%s %s has section %q", rt.Method, rt.Path, rt.Section)
	}
}

// The sections porta's abilities ask of a member, route by route.
func TestRouteSectionsFollowPorta(t *testing.T) {
	api, _, _ := newAPIServer(t)
	got := map[string]string{}
	for _, rt := range api.Routes() {
		got[rt.Method+" "+rt.Path] = rt.Section
	}
	for route, want := range map[string]string{
		"GET /admin/api/accounts":                                                 "partners",
		"PUT /admin/api/accounts/{id}":                                            "partners",
		"PUT /admin/api/accounts/{id}/make_pending":                               "partners",
		"DELETE /admin/api/accounts/{id}":                                         "admin",
		"PUT /admin/api/accounts/{id}/approve":                                    "admin",
		"PUT /admin/api/accounts/{id}/reject":                                     "admin",
		"POST /admin/api/accounts/{account_id}/users":                             "admin",
		"PUT /admin/api/accounts/{account_id}/users/{id}":                         "partners",
		"POST /admin/api/signup":                                                  "partners",
		"GET /admin/api/accounts/{account_id}/applications/{id}":                  "partners",
		"GET /admin/api/services/{service_id}/application_plans":                  "partners",
		"GET /admin/api/application_plans/{application_plan_id}/limits":           "partners",
		"GET /admin/api/services/{service_id}/metrics":                            "partners",
		"GET /admin/api/settings":                                                 "partners",
		"GET /admin/api/account_plans":                                            "plans",
		"POST /admin/api/account_plans/{account_plan_id}/features":                "plans",
		"GET /admin/api/service_plans":                                            "plans",
		"GET /admin/api/services/{id}/service_plans":                              "plans",
		"PUT /admin/api/services/{service_id}/service_plans/{id}/default":         "plans",
		"GET /admin/api/backend_apis":                                             "plans",
		"PUT /admin/api/backend_apis/{id}":                                        "plans",
		"POST /admin/api/backend_apis/{backend_api_id}/metrics":                   "plans",
		"GET /admin/api/active_docs":                                              "plans",
		"PUT /admin/api/active_docs/{id}":                                         "plans",
		"POST /admin/api/backend_apis":                                            "admin",
		"DELETE /admin/api/backend_apis/{id}":                                     "admin",
		"DELETE /admin/api/services/{id}":                                         "admin",
		"PUT /admin/api/services/{id}":                                            "partners",
		"POST /admin/api/registry/policies":                                       "policy_registry",
		"GET /admin/api/users":                                                    "admin",
		"POST /admin/api/users":                                                   "admin",
		"GET /admin/api/users/{id}":                                               "self",
		"PUT /admin/api/users/{id}":                                               "self",
		"DELETE /admin/api/users/{id}":                                            "admin",
		"PUT /admin/api/users/{id}/admin":                                         "admin",
		"PUT /admin/api/users/{id}/member":                                        "admin",
		"PUT /admin/api/users/{id}/suspend":                                       "self",
		"GET /admin/api/users/{id}/permissions":                                   "self",
		"PUT /admin/api/users/{id}/permissions":                                   "admin",
		"POST /admin/api/users/{user_id}/access_tokens":                           "self",
		"GET /admin/api/personal/access_tokens":                                   "partners",
		"GET /master/api/providers/{id}":                                          "admin",
		"GET /admin/api/services/{service_id}/proxy/configs/{environment}/latest": "partners",
	} {
		if assert.Contains(t, got, route) {
			assert.Equal(t, want, got[route], route)
		}
	}
}

// Portolan's own admin API (TokenChecker.Check: export with secrets,
// import, join tokens) is the admins': a member's rw token with
// account_management is refused, its user's promotion to admin opens it.
func TestMemberTokenIsRefusedPortolansAdminAPI(t *testing.T) {
	e := newTokenEnv(t, 0)
	status, body := e.call(t, bootstrapToken, http.MethodPost, "/admin/api/users.json",
		url.Values{"username": {"pat"}, "email": {"pat@provider.example"}})
	require.Equal(t, http.StatusCreated, status, body)
	var u providerUserJSON
	require.NoError(t, json.Unmarshal([]byte(body), &u))
	id := itoa(u.User.ID)
	status, body = e.call(t, bootstrapToken, http.MethodPut, "/admin/api/users/"+id+"/permissions.json",
		url.Values{"allowed_sections[]": {"partners"}})
	require.Equal(t, http.StatusOK, status, body)
	status, body = e.call(t, bootstrapToken, http.MethodPost, "/admin/api/users/"+id+"/access_tokens.json",
		url.Values{"name": {"pat"}, "permission": {"rw"}, "scopes[]": {"account_management"}})
	require.Equal(t, http.StatusCreated, status, body)
	var tok map[string]struct {
		Value string `json:"value"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &tok))

	req := httptest.NewRequest(http.MethodPost, "/admin/portolan/export", nil)
	req.SetBasicAuth("", tok["access_token"].Value)
	assert.False(t, e.tc.Check(req), "a member's token")
	grant, ok := e.tc.Authenticate(req)
	require.True(t, ok)
	assert.True(t, grant.Member())
	assert.Equal(t, u.User.ID, grant.UserID)

	status, body = e.call(t, bootstrapToken, http.MethodPut, "/admin/api/users/"+id+"/admin.json", nil)
	require.Equal(t, http.StatusOK, status, body)
	assert.True(t, e.tc.Check(req), "the same token once its user is an admin")
}
