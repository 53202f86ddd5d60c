package threescale_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// Helpers of tokenEnv for the tests of users, accounts and their data.

// providerUserToken makes provider user username (an admin when admin,
// else a member with the partners section) with an rw account_management
// token of its own, and returns the user's id and the token's value.
func (e *tokenEnv) providerUserToken(t *testing.T, username string, admin bool) (id, token string) {
	t.Helper()
	token = e.userToken(t, username, admin)
	users := e.store.Snapshot().Users.Filter(func(u *composition.User) bool { return u.Username == username })
	require.Len(t, users, 1)
	return itoa(users[0].ID), token
}

// signup makes a developer account with its admin user (Signup Express,
// the bootstrap token; form adds parameters) and returns the account's id
// and the user's.
func (e *tokenEnv) signup(t *testing.T, org, username string, form url.Values) (account, user int64) {
	t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("org_name", org)
	form.Set("username", username)
	status, body := e.call(t, bootstrapToken, http.MethodPost, "/admin/api/signup.json", form)
	require.Equal(t, http.StatusCreated, status, body)
	var acc struct {
		Account struct {
			ID int64 `json:"id"`
		} `json:"account"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &acc))
	users := e.store.Snapshot().Users.Filter(func(u *composition.User) bool { return u.AccountID == acc.Account.ID })
	require.Len(t, users, 1)
	return acc.Account.ID, users[0].ID
}
