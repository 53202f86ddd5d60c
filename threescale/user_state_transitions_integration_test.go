package threescale_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// porta's User state machine (app/models/user/states.rb):
//
//	event :suspend do
//	  transition active: :suspended
//	  transition suspended: :suspended
//	end
//	event :unsuspend do
//	  transition suspended: :active
//	end
//
// Both users controllers (Admin::Api::BuyersUsersController and
// Admin::Api::UsersController) suspend with "user.suspend!" and unsuspend
// with "user.unsuspend": suspending a suspended user is answered as done
// (200, still suspended), not refused; a refused unsuspend (non-bang) leaves
// state_machine's invalid_transition error, 'cannot transition via
// "unsuspend"', on state, which respond_with answers with 422.
func TestSuspendingASuspendedUserIsAnsweredAsPortaDoes(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	acc := *acSignup(t, cl, "Acme", "alice").ID

	type userDoc struct {
		User struct {
			ID    int64  `json:"id"`
			State string `json:"state"`
		} `json:"user"`
	}
	for _, tc := range []struct{ name, base, username string }{
		{"developer user", "/admin/api/accounts/" + s64(acc) + "/users", "pat"},
		{"provider user", "/admin/api/users", "sam"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var created userDoc
			decodeCall(t, co, http.MethodPost, tc.base+".json",
				url.Values{"username": {tc.username}, "email": {tc.username + "@example.com"}, "password": {"secret123"}}, http.StatusCreated, &created)
			require.Equal(t, "pending", created.User.State)
			member := tc.base + "/" + s64(created.User.ID)
			state := func() string {
				var u userDoc
				decodeCall(t, co, http.MethodGet, member+".json", nil, http.StatusOK, &u)
				return u.User.State
			}

			code, body := formCall(t, co, http.MethodPut, member+"/unsuspend.json", nil)
			assert.Equal(t, []string{`cannot transition via "unsuspend"`}, fieldErrors(t, code, body)["state"])
			assert.Equal(t, "pending", state(), "a refused unsuspend leaves the user pending")

			var u userDoc
			decodeCall(t, co, http.MethodPut, member+"/activate.json", nil, http.StatusOK, &u)
			require.Equal(t, "active", u.User.State)
			decodeCall(t, co, http.MethodPut, member+"/suspend.json", nil, http.StatusOK, &u)
			require.Equal(t, "suspended", u.User.State)
			code, body = formCall(t, co, http.MethodPut, member+"/suspend.json", nil)
			assert.Equal(t, http.StatusOK, code, "suspending a suspended user is porta's suspended => suspended: %s", body)
			assert.Equal(t, "suspended", state())
		})
	}
}
