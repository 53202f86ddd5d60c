package threescale_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// porta (abilities admin.rb, provider_admin.rb): "Admin can't delete
// himself/herself. Admin can't change his/her role." An admin user's token
// is refused both on its own user, 403, and keeps them on another admin.
func TestUserTokenCannotDeleteOrDemoteItsOwnUser(t *testing.T) {
	e := newTokenEnv(t, 0)
	ada, adaToken := e.providerUserToken(t, "ada", true)
	bob, _ := e.providerUserToken(t, "bob", true)

	for _, c := range []struct{ method, path string }{
		{http.MethodPut, "/admin/api/users/" + ada + "/member.json"},
		{http.MethodPut, "/admin/api/users/" + ada + "/admin.json"},
		{http.MethodDelete, "/admin/api/users/" + ada + ".json"},
	} {
		status, body := e.call(t, adaToken, c.method, c.path, nil)
		assert.Equal(t, http.StatusForbidden, status, "%s %s: %s", c.method, c.path, body)
		assert.JSONEq(t, `{"error":"Your access token does not have the correct permissions"}`, body)
	}
	status, body := e.call(t, adaToken, http.MethodGet, "/admin/api/users/"+ada+".json", nil)
	require.Equal(t, http.StatusOK, status, body)
	assert.Contains(t, body, `"role":"admin"`, "still an admin")

	status, body = e.call(t, adaToken, http.MethodPut, "/admin/api/users/"+bob+"/member.json", nil)
	assert.Equal(t, http.StatusOK, status, "another admin's role: %s", body)
	status, body = e.call(t, adaToken, http.MethodDelete, "/admin/api/users/"+bob+".json", nil)
	assert.Equal(t, http.StatusOK, status, "another user: %s", body)
}

// porta: "nobody can change user permissions of a provider admin": a
// user's token is refused, 403; the provider's own token (porta's
// provider_key, Portolan's tokens of no user) still may.
func TestUserTokenCannotChangeAnAdminsPermissions(t *testing.T) {
	e := newTokenEnv(t, 0)
	_, adaToken := e.providerUserToken(t, "ada", true)
	bob, _ := e.providerUserToken(t, "bob", true)
	cy, _ := e.providerUserToken(t, "cy", false)
	path := func(id string) string { return "/admin/api/users/" + id + "/permissions.json" }
	sections := url.Values{"allowed_sections[]": {"partners", "plans"}}

	status, body := e.call(t, adaToken, http.MethodPut, path(bob), sections)
	assert.Equal(t, http.StatusForbidden, status, "an admin's permissions: %s", body)
	status, body = e.call(t, adaToken, http.MethodPut, path(cy), sections)
	assert.Equal(t, http.StatusOK, status, "a member's permissions: %s", body)
	status, body = e.call(t, bootstrapToken, http.MethodPut, path(bob), sections)
	assert.Equal(t, http.StatusOK, status, "the provider's token: %s", body)
}

// The self rules hold however the user's id is written in the path: the
// handlers read "02", "+2" and "%302" as user 2, and so do the rules.
func TestUserTokenCannotDemoteItsOwnUserByAnotherSpellingOfItsID(t *testing.T) {
	e := newTokenEnv(t, 0)
	ada, adaToken := e.providerUserToken(t, "ada", true)
	for _, id := range []string{"0" + ada, "+" + ada, "%30" + ada} {
		for _, c := range []struct{ method, path string }{
			{http.MethodPut, "/admin/api/users/" + id + "/member.json"},
			{http.MethodDelete, "/admin/api/users/" + id + ".json"},
		} {
			status, body := e.call(t, adaToken, c.method, c.path, nil)
			assert.Equal(t, http.StatusForbidden, status, "%s %s: %s", c.method, c.path, body)
		}
	}
	status, body := e.call(t, adaToken, http.MethodGet, "/admin/api/users/"+ada+".json", nil)
	require.Equal(t, http.StatusOK, status, body)
	assert.Contains(t, body, `"role":"admin"`, "still an admin")
}
