package threescale_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
)

// porta's abilities give destroying, approving and rejecting developer
// accounts, and creating their users, to admins only (admin.rb); a member
// with partners may create, update, suspend and resume accounts and read,
// update and delete their users (provider_member.rb), so the member's
// token is refused the former, 403, and keeps the latter.
func TestMemberCannotDeleteApproveOrRejectAccounts(t *testing.T) {
	e := newTokenEnv(t, 0)
	member := e.userToken(t, "bob", false)
	account, _ := e.signup(t, "Acme", "acme", nil)
	base := "/admin/api/accounts/" + itoa(account)

	status, body := e.call(t, member, http.MethodPut, base+"/make_pending.json", nil)
	assert.Equal(t, http.StatusOK, status, "make_pending is an update: %s", body)
	status, body = e.call(t, member, http.MethodPost, base+"/users.json",
		url.Values{"username": {"carol"}, "email": {"carol@acme.example"}})
	assert.Equal(t, http.StatusForbidden, status, "a new user: %s", body)
	for _, c := range []struct{ method, path string }{
		{http.MethodPut, base + "/approve.json"},
		{http.MethodPut, base + "/reject.json"},
		{http.MethodDelete, base + ".json"},
	} {
		status, body = e.call(t, member, c.method, c.path, nil)
		assert.Equal(t, http.StatusForbidden, status, "%s %s: %s", c.method, c.path, body)
	}
	status, body = e.call(t, bootstrapToken, http.MethodPut, base+"/approve.json", nil)
	assert.Equal(t, http.StatusOK, status, "the provider's token: %s", body)
}
