package threescale_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/3scale/3scale-porta-go-client/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// The official Go client's account and user calls against the Provider
// Users and Provider Account families: the client works on developer
// accounts only (porta finds them among the provider's buyers), so the
// provider's own account and its admin users are 404 to every one of its
// calls and absent from its lists.

func TestGoClientAccountCallsNeverReachTheProviderOrItsUsers(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	staff := providerUser(t, co, http.MethodPost, "/admin/api/users.json",
		url.Values{"username": {"staff"}, "email": {"staff@provider.example"}}, http.StatusCreated).User
	var provider struct {
		Account struct {
			ID int64 `json:"id"`
		} `json:"account"`
	}
	decodeCall(t, co, http.MethodGet, "/admin/api/provider.json", nil, http.StatusOK, &provider)
	pid := provider.Account.ID
	require.NotZero(t, pid)
	assert.Equal(t, pid, staff.AccountID, "a provider user belongs to the provider's account")

	acc := acSignup(t, cl, "Acme", "dev")
	list, err := cl.ListDeveloperAccounts()
	require.NoError(t, err)
	require.Len(t, list.Items, 1, "the provider is no developer account")
	assert.Equal(t, *acc.ID, *list.Items[0].Element.ID)
	//lint:ignore SA1019 the legacy list must leave the provider out too
	legacy, err := cl.ListAccounts()
	require.NoError(t, err)
	require.Len(t, legacy.Accounts, 1)
	assert.Equal(t, *acc.ID, legacy.Accounts[0].Account.ID)
	devs := acUsers(t, cl, *acc.ID, nil)
	require.Len(t, devs, 1)
	assert.Equal(t, "dev", *devs[0].Username)

	// The provider's account, by the client's calls.
	notFound := func(what string, err error) {
		t.Helper()
		if assert.Error(t, err, what) {
			apiErr(t, err, http.StatusNotFound)
		}
	}
	_, err = cl.DeveloperAccount(pid)
	notFound("read", err)
	_, err = cl.UpdateDeveloperAccount(&client.DeveloperAccount{Element: client.DeveloperAccountItem{ID: &pid, OrgName: gcStr("Taken")}})
	notFound("update", err)
	_, err = cl.ListDeveloperUsers(pid, nil)
	notFound("list users", err)
	_, err = cl.ListUsers(pid, nil)
	notFound("legacy list users", err)
	_, err = cl.ListApplications(pid)
	notFound("list applications", err)
	_, err = cl.CreateDeveloperUser(pid, &client.DeveloperUser{Element: client.DeveloperUserItem{
		Username: gcStr("intruder"), Email: gcStr("intruder@example.com"),
	}})
	notFound("create user", err)

	// A provider user, under the provider's account or a developer's.
	for _, account := range []int64{pid, *acc.ID} {
		_, err = cl.DeveloperUser(account, staff.ID)
		notFound("read user", err)
		_, err = cl.ReadUser(account, staff.ID)
		notFound("legacy read user", err)
		_, err = cl.SuspendDeveloperUser(account, staff.ID)
		notFound("suspend user", err)
		_, err = cl.UpdateUser(account, staff.ID, client.Params{"email": "x@example.com"})
		notFound("legacy update user", err)
		notFound("delete user", cl.DeleteDeveloperUser(account, staff.ID))
	}
	notFound("delete account", cl.DeleteDeveloperAccount(pid))

	// None of it touched them.
	again := providerUser(t, co, http.MethodGet, "/admin/api/users/"+s64(staff.ID)+".json", nil, http.StatusOK).User
	assert.Equal(t, "staff@provider.example", again.Email)
	assert.Equal(t, staff.State, again.State)
	decodeCall(t, co, http.MethodGet, "/admin/api/provider.json", nil, http.StatusOK, &provider)
	assert.Equal(t, pid, provider.Account.ID)
}
