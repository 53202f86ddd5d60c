package threescale_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// porta's BuyersUsersController#activate is "user.activate! unless
// user.active?": activating an active developer user answers it, 200, and
// changes nothing; a suspended one is still refused.
func TestActivatingAnActiveDeveloperUserAnswersIt(t *testing.T) {
	e := newTokenEnv(t, 0)
	account, user := e.signup(t, "Acme", "acme", nil)
	base := "/admin/api/accounts/" + itoa(account) + "/users/" + itoa(user)
	before, _ := e.store.Snapshot().Users.Get(user)
	require.Equal(t, composition.UserActive, before.State)
	revision := e.store.Snapshot().Revision

	status, body := e.call(t, bootstrapToken, http.MethodPut, base+"/activate.json", nil)
	assert.Equal(t, http.StatusOK, status, body)
	assert.Contains(t, body, `"state":"active"`)
	assert.Equal(t, revision, e.store.Snapshot().Revision, "nothing written")

	status, body = e.call(t, bootstrapToken, http.MethodPut, base+"/suspend.json", nil)
	require.Equal(t, http.StatusOK, status, body)
	status, body = e.call(t, bootstrapToken, http.MethodPut, base+"/activate.json", nil)
	assert.Equal(t, http.StatusUnprocessableEntity, status, body)
}
