package threescale_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/3scale/3scale-porta-go-client/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/testenv"
	regclient "github.com/portolan/portolan/registry/client"
)

func TestDeveloperUsers(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	acc := *acSignup(t, cl, "Acme", "alice").ID

	username, email, password := "bob", "bob@acme.example", "hunter2"
	created, err := cl.CreateDeveloperUser(acc, &client.DeveloperUser{Element: client.DeveloperUserItem{
		Username: &username, Email: &email, Password: &password,
	}})
	require.NoError(t, err)
	bob := created.Element
	require.NotNil(t, bob.ID)
	assert.Equal(t, "bob", *bob.Username)
	assert.Equal(t, "bob@acme.example", *bob.Email)
	assert.Equal(t, "pending", *bob.State)
	assert.Equal(t, "member", *bob.Role)
	assert.Nil(t, bob.Password, "passwords are never returned")
	requirePasswordHashed(t, co, "bob", "hunter2")
	recentTime(t, *bob.CreatedAt)
	recentTime(t, *bob.UpdatedAt)

	read, err := cl.DeveloperUser(acc, *bob.ID)
	require.NoError(t, err)
	assert.Equal(t, bob, read.Element)

	assert.Len(t, acUsers(t, cl, acc, nil), 2)
	pending := acUsers(t, cl, acc, client.Params{"state": "pending"})
	require.Len(t, pending, 1)
	assert.Equal(t, bob, pending[0])
	admins := acUsers(t, cl, acc, client.Params{"role": "admin"})
	require.Len(t, admins, 1)
	assert.Equal(t, "alice", *admins[0].Username)
	assert.Empty(t, acUsers(t, cl, acc, client.Params{"state": "suspended", "role": "member"}))

	// Each state and role change is returned and stored.
	steps := []struct {
		name        string
		do          func() (*client.DeveloperUser, error)
		state, role string
	}{
		{"activate", func() (*client.DeveloperUser, error) { return cl.ActivateDeveloperUser(acc, *bob.ID) }, "active", "member"},
		{"admin", func() (*client.DeveloperUser, error) { return cl.ChangeRoleToAdminDeveloperUser(acc, *bob.ID) }, "active", "admin"},
		{"member", func() (*client.DeveloperUser, error) { return cl.ChangeRoleToMemberDeveloperUser(acc, *bob.ID) }, "active", "member"},
		{"suspend", func() (*client.DeveloperUser, error) { return cl.SuspendDeveloperUser(acc, *bob.ID) }, "suspended", "member"},
		{"unsuspend", func() (*client.DeveloperUser, error) { return cl.UnsuspendDeveloperUser(acc, *bob.ID) }, "active", "member"},
	}
	for _, s := range steps {
		got, err := s.do()
		require.NoError(t, err, s.name)
		assert.Equal(t, *bob.ID, *got.Element.ID, s.name)
		assert.Equal(t, s.state, *got.Element.State, s.name)
		assert.Equal(t, s.role, *got.Element.Role, s.name)
		assert.Equal(t, "bob", *got.Element.Username, s.name)
		assert.Nil(t, got.Element.Password, s.name)
		read, err := cl.DeveloperUser(acc, *bob.ID)
		require.NoError(t, err, s.name)
		assert.Equal(t, got.Element, read.Element, s.name)
	}
	// porta activates a developer user "unless user.active?": an active one
	// is answered as it is; 3scale's state machine refuses to unsuspend it.
	activated, err := cl.ActivateDeveloperUser(acc, *bob.ID)
	require.NoError(t, err)
	assert.Equal(t, "active", *activated.Element.State)
	_, err = cl.UnsuspendDeveloperUser(acc, *bob.ID)
	apiErr(t, err, http.StatusUnprocessableEntity, `"state"`)

	// UpdateDeveloperUser sends the user as JSON; role and state are not
	// changed through it.
	change := read.Element
	newEmail, newPassword, role := "robert@acme.example", "correct horse", "admin"
	change.Email, change.Password, change.Role = &newEmail, &newPassword, &role
	updated, err := cl.UpdateDeveloperUser(acc, &client.DeveloperUser{Element: change})
	require.NoError(t, err)
	assert.Equal(t, "robert@acme.example", *updated.Element.Email)
	assert.Equal(t, "bob", *updated.Element.Username)
	assert.Equal(t, "member", *updated.Element.Role)
	assert.Equal(t, "active", *updated.Element.State)
	assert.Nil(t, updated.Element.Password)
	read, err = cl.DeveloperUser(acc, *bob.ID)
	require.NoError(t, err)
	assert.Equal(t, updated.Element, read.Element)
	code, body := formCall(t, co, http.MethodGet, "/admin/api/accounts/"+s64(acc)+"/users/"+s64(*bob.ID)+".xml", nil)
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, string(body), "<username>bob</username>")
	assert.NotContains(t, string(body), "correct horse")
	assert.NotContains(t, string(body), "password")

	// Bad input.
	dup, other, pw, bad := "alice", "x@acme.example", "pw", "not-an-email"
	_, err = cl.CreateDeveloperUser(acc, &client.DeveloperUser{Element: client.DeveloperUserItem{Username: &dup, Email: &other, Password: &pw}})
	apiErr(t, err, http.StatusUnprocessableEntity, `"username":["has already been taken"]`)
	carol := "carol"
	_, err = cl.CreateDeveloperUser(acc, &client.DeveloperUser{Element: client.DeveloperUserItem{Username: &carol, Password: &pw}})
	apiErr(t, err, http.StatusUnprocessableEntity, `"email":["can't be blank"]`)
	_, err = cl.CreateDeveloperUser(acc, &client.DeveloperUser{Element: client.DeveloperUserItem{Username: &carol, Email: &bad, Password: &pw}})
	apiErr(t, err, http.StatusUnprocessableEntity, `"email"`)
	_, err = cl.CreateDeveloperUser(acc, &client.DeveloperUser{Element: client.DeveloperUserItem{Email: &other, Password: &pw}})
	apiErr(t, err, http.StatusUnprocessableEntity, `"username":["can't be blank"]`)
	_, err = cl.CreateDeveloperUser(999999, &client.DeveloperUser{Element: client.DeveloperUserItem{Username: &carol, Email: &other, Password: &pw}})
	apiErr(t, err, http.StatusNotFound)
	_, err = cl.DeveloperUser(acc, 999999)
	apiErr(t, err, http.StatusNotFound)
	_, err = cl.ListDeveloperUsers(999999, nil)
	apiErr(t, err, http.StatusNotFound)
	_, err = cl.SuspendDeveloperUser(acc, 999999)
	apiErr(t, err, http.StatusNotFound)
	// A user is only reachable through its own account.
	otherAcc := *acSignup(t, cl, "Other", "dave").ID
	_, err = cl.DeveloperUser(otherAcc, *bob.ID)
	apiErr(t, err, http.StatusNotFound)
	assert.Len(t, acUsers(t, cl, acc, nil), 2, "refused writes stored nothing")

	require.NoError(t, cl.DeleteDeveloperUser(acc, *bob.ID))
	_, err = cl.DeveloperUser(acc, *bob.ID)
	apiErr(t, err, http.StatusNotFound)
	assert.Len(t, acUsers(t, cl, acc, nil), 1)
}

func TestLegacyUserCalls(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	acc := *acSignup(t, cl, "Acme", "alice").ID
	username, email, password := "bob", "bob@acme.example", "pw"
	created, err := cl.CreateDeveloperUser(acc, &client.DeveloperUser{Element: client.DeveloperUserItem{Username: &username, Email: &email, Password: &password}})
	require.NoError(t, err)
	id := *created.Element.ID

	require.NoError(t, cl.ActivateUser(acc, id))
	u, err := cl.ReadUser(acc, id)
	require.NoError(t, err)
	assert.Equal(t, id, u.ID)
	assert.Equal(t, "active", u.State)
	assert.Equal(t, "bob", u.UserName)
	assert.Equal(t, "bob@acme.example", u.Email)
	assert.Equal(t, acc, u.AccountID)

	u, err = cl.UpdateUser(acc, id, client.Params{"email": "robert@acme.example", "username": "robert"})
	require.NoError(t, err)
	assert.Equal(t, id, u.ID)
	assert.Equal(t, "robert", u.UserName)
	assert.Equal(t, "robert@acme.example", u.Email)
	assert.Equal(t, "active", u.State)
	assert.Equal(t, acc, u.AccountID)

	list, err := cl.ListUsers(acc, client.Params{"role": "member"})
	require.NoError(t, err)
	require.Len(t, list.Users, 1)
	assert.Equal(t, *u, list.Users[0].User)
	list, err = cl.ListUsers(acc, nil)
	require.NoError(t, err)
	require.Len(t, list.Users, 2)
	assert.Equal(t, "alice", list.Users[0].User.UserName)

	require.NoError(t, cl.ActivateUser(acc, id), "an active user is answered as it is, as porta's activate")
	apiErr(t, cl.ActivateUser(acc, 999999), http.StatusNotFound)
	_, err = cl.ReadUser(999999, id)
	apiErr(t, err, http.StatusNotFound)
	_, err = cl.UpdateUser(acc, id, client.Params{"email": ""})
	apiErr(t, err, http.StatusUnprocessableEntity, `"email":["can't be blank"]`)
}

// requirePasswordHashed asserts the user's password is kept only as an
// argon2id hash of password: in an export with secrets and in the store.
func requirePasswordHashed(t *testing.T, co *testenv.Coordinator, username, password string) {
	t.Helper()
	admin, err := regclient.New(regclient.Config{Address: co.URL, Token: co.Token})
	require.NoError(t, err)
	out, err := admin.ExportComposition(context.Background(), true)
	require.NoError(t, err)
	assert.NotContains(t, string(out), password)
	var doc composition.Document
	require.NoError(t, json.Unmarshal(out, &doc))
	found := false
	for _, u := range doc.Users {
		if u.Username == username {
			found = true
			ok, err := composition.VerifyPassword(u.Password, password)
			require.NoError(t, err, "stored: %q", u.Password)
			assert.True(t, ok)
		}
	}
	require.True(t, found, "user %s exported", username)
	db, err := os.ReadFile(filepath.Join(co.DataDir, "composition.db"))
	require.NoError(t, err)
	assert.NotContains(t, string(db), password, "the store holds no plaintext password")
}
