package threescale_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/3scale/3scale-porta-go-client/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/testenv"
	regclient "github.com/portolan/portolan/registry/client"
)

var acHexKey = regexp.MustCompile(`^[0-9a-f]{32}$`)

func acSignup(t *testing.T, cl *client.ThreeScaleClient, org, username string) client.DeveloperAccountItem {
	t.Helper()
	acc, err := cl.Signup(client.Params{"org_name": org, "username": username, "email": username + "@example.com", "password": "pw-" + username})
	require.NoError(t, err)
	require.NotNil(t, acc.Element.ID)
	return acc.Element
}

func acUsers(t *testing.T, cl *client.ThreeScaleClient, account int64, filter client.Params) []client.DeveloperUserItem {
	t.Helper()
	list, err := cl.ListDeveloperUsers(account, filter)
	require.NoError(t, err)
	out := make([]client.DeveloperUserItem, len(list.Items))
	for i, u := range list.Items {
		out[i] = u.Element
	}
	return out
}

func acApps(t *testing.T, cl *client.ThreeScaleClient, account int64) []client.Application {
	t.Helper()
	list, err := cl.ListApplications(account)
	require.NoError(t, err)
	out := make([]client.Application, len(list.Applications))
	for i, a := range list.Applications {
		out[i] = a.Application
	}
	return out
}

// acAppXML is an application as 3scale's XML renders it.
type acAppXML struct {
	XMLName                 xml.Name `xml:"application"`
	ID                      int64    `xml:"id"`
	UserAccountID           int64    `xml:"user_account_id"`
	ServiceID               int64    `xml:"service_id"`
	PlanID                  int64    `xml:"plan_id"`
	State                   string   `xml:"state"`
	Name                    string   `xml:"name"`
	UserKey                 string   `xml:"user_key"`
	ApplicationID           string   `xml:"application_id"`
	Keys                    []string `xml:"keys>key"`
	ProviderVerificationKey string   `xml:"provider_verification_key"`
}

func TestSignupAndAccounts(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	product := createProduct(t, cl, "Signup API", nil)
	defPlan := createPlan(t, cl, product, client.Params{"name": "Default", "default": "true", "state_event": "publish"})
	other := createProduct(t, cl, "No Default API", nil)
	otherPlan := createPlan(t, cl, other, client.Params{"name": "Other"})

	acc, err := cl.Signup(client.Params{"org_name": "Acme", "username": "alice", "email": "alice@acme.example", "password": "s3cret",
		"city": "Lisbon", "country": "PT"})
	require.NoError(t, err)
	a := acc.Element
	require.NotNil(t, a.ID)
	assert.NotZero(t, *a.ID)
	assert.Equal(t, "Acme", *a.OrgName)
	assert.Equal(t, "approved", *a.State)
	assert.Equal(t, "Lisbon", *a.City)
	assert.Equal(t, "PT", *a.Country)
	assert.False(t, *a.CreditCardStored)
	assert.False(t, *a.MonthlyBillingEnabled)
	recentTime(t, *a.CreatedAt)
	recentTime(t, *a.UpdatedAt)

	read, err := cl.DeveloperAccount(*a.ID)
	require.NoError(t, err)
	assert.Equal(t, a, read.Element)

	// The admin user: active, admin, password never on the wire.
	users := acUsers(t, cl, *a.ID, nil)
	require.Len(t, users, 1)
	admin := users[0]
	assert.Equal(t, "alice", *admin.Username)
	assert.Equal(t, "alice@acme.example", *admin.Email)
	assert.Equal(t, "admin", *admin.Role)
	assert.Equal(t, "active", *admin.State)
	assert.Nil(t, admin.Password)

	// One application, on the default plan of the only service that has one.
	apps := acApps(t, cl, *a.ID)
	require.Len(t, apps, 1)
	app := apps[0]
	assert.Equal(t, defPlan.ID, app.PlanID)
	assert.Equal(t, product, app.ServiceID)
	assert.Equal(t, s64(*a.ID), app.UserAccountID)
	assert.Equal(t, "API signup", app.AppName)
	assert.Equal(t, "live", app.State)
	assert.Regexp(t, acHexKey, app.UserKey)
	assert.Regexp(t, acHexKey, app.ProviderVerificationKey)

	// application_plan_id picks the plan.
	bob, err := cl.Signup(client.Params{"org_name": "Bobs", "username": "bob", "email": "bob@bobs.example", "password": "pw",
		"application_plan_id": s64(otherPlan.ID)})
	require.NoError(t, err)
	apps = acApps(t, cl, *bob.Element.ID)
	require.Len(t, apps, 1)
	assert.Equal(t, otherPlan.ID, apps[0].PlanID)
	assert.Equal(t, other, apps[0].ServiceID)

	//lint:ignore SA1019 the legacy call is part of what the API must serve
	legacy, err := cl.ListAccounts()
	require.NoError(t, err)
	require.Len(t, legacy.Accounts, 2)
	assert.Equal(t, *a.ID, legacy.Accounts[0].Account.ID)
	assert.Equal(t, "Acme", legacy.Accounts[0].Account.OrgName)
	assert.Equal(t, "approved", legacy.Accounts[0].Account.State)
	assert.Equal(t, "Bobs", legacy.Accounts[1].Account.OrgName)

	list, err := cl.ListDeveloperAccounts()
	require.NoError(t, err)
	require.Len(t, list.Items, 2)
	assert.Equal(t, a, list.Items[0].Element)
	assert.Equal(t, *bob.Element.ID, *list.Items[1].Element.ID)
	var byState client.DeveloperAccountList
	decodeCall(t, co, http.MethodGet, "/admin/api/accounts.json", url.Values{"state": {"pending"}}, http.StatusOK, &byState)
	assert.Empty(t, byState.Items)

	// UpdateDeveloperAccount sends the whole account as JSON.
	change := read.Element
	org, city, vat, zip := "Acme Corp", "Porto", "PT999", "4000"
	billing := true
	change.OrgName, change.City, change.VatCode, change.Zip, change.MonthlyBillingEnabled = &org, &city, &vat, &zip, &billing
	updated, err := cl.UpdateDeveloperAccount(&client.DeveloperAccount{Element: change})
	require.NoError(t, err)
	u := updated.Element
	assert.Equal(t, *a.ID, *u.ID)
	assert.Equal(t, "Acme Corp", *u.OrgName)
	assert.Equal(t, "Porto", *u.City)
	assert.Equal(t, "PT999", *u.VatCode)
	assert.Equal(t, "4000", *u.Zip)
	assert.Equal(t, "PT", *u.Country)
	assert.True(t, *u.MonthlyBillingEnabled)
	assert.Equal(t, "approved", *u.State)
	assert.Equal(t, *a.CreatedAt, *u.CreatedAt)
	read, err = cl.DeveloperAccount(*a.ID)
	require.NoError(t, err)
	assert.Equal(t, u, read.Element)

	// The XML rendering of the same account.
	var x struct {
		XMLName xml.Name `xml:"account"`
		ID      int64    `xml:"id"`
		OrgName string   `xml:"org_name"`
		State   string   `xml:"state"`
		City    string   `xml:"city"`
	}
	decodeCall(t, co, http.MethodGet, "/admin/api/accounts/"+s64(*a.ID)+".xml", nil, http.StatusOK, &x)
	assert.Equal(t, *a.ID, x.ID)
	assert.Equal(t, "Acme Corp", x.OrgName)
	assert.Equal(t, "approved", x.State)
	assert.Equal(t, "Porto", x.City)

	// Account Find, by username, email or user id, JSON and XML.
	for _, q := range []url.Values{{"username": {"alice"}}, {"email": {"alice@acme.example"}}, {"user_id": {s64(*admin.ID)}},
		{"username": {"alice"}, "email": {"bob@bobs.example"}}} {
		var found client.DeveloperAccount
		decodeCall(t, co, http.MethodGet, "/admin/api/accounts/find.json", q, http.StatusOK, &found)
		assert.Equal(t, u, found.Element, "find %v", q)
	}
	x.ID = 0
	decodeCall(t, co, http.MethodGet, "/admin/api/accounts/find.xml", url.Values{"email": {"bob@bobs.example"}}, http.StatusOK, &x)
	assert.Equal(t, *bob.Element.ID, x.ID)
	assert.Equal(t, "Bobs", x.OrgName)
	for _, q := range []url.Values{{"username": {"nobody"}}, {"user_id": {"999999"}}, nil} {
		code, body := formCall(t, co, http.MethodGet, "/admin/api/accounts/find.json", q)
		assert.Equal(t, http.StatusNotFound, code, "find %v", q)
		assert.JSONEq(t, `{"status":"Not found"}`, string(body))
	}

	// Deleting an account deletes its users and applications.
	require.NoError(t, cl.DeleteDeveloperAccount(*bob.Element.ID))
	_, err = cl.DeveloperAccount(*bob.Element.ID)
	apiErr(t, err, http.StatusNotFound)
	_, err = cl.ListDeveloperUsers(*bob.Element.ID, nil)
	apiErr(t, err, http.StatusNotFound)
	var all client.ApplicationList
	decodeCall(t, co, http.MethodGet, "/admin/api/applications.json", nil, http.StatusOK, &all)
	require.Len(t, all.Applications, 1)
	assert.Equal(t, app.ID, all.Applications[0].Application.ID)
	code, _ := formCall(t, co, http.MethodGet, "/admin/api/accounts/find.json", url.Values{"username": {"bob"}})
	assert.Equal(t, http.StatusNotFound, code)
}

func TestSignupAndAccountsBadInput(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	acSignup(t, cl, "Acme", "alice")

	_, err := cl.Signup(client.Params{"username": "bob", "email": "bob@example.com", "password": "pw"})
	apiErr(t, err, http.StatusUnprocessableEntity, `"org_name":["can't be blank"]`)
	_, err = cl.Signup(client.Params{"org_name": "Other", "username": "alice", "email": "other@example.com", "password": "pw"})
	apiErr(t, err, http.StatusUnprocessableEntity, `"username":["has already been taken"]`)
	_, err = cl.Signup(client.Params{"org_name": "Other", "username": "carol", "email": "alice@example.com", "password": "pw"})
	apiErr(t, err, http.StatusUnprocessableEntity, `"email":["has already been taken"]`)
	_, err = cl.Signup(client.Params{"org_name": "Other", "username": "carol", "email": "not-an-email", "password": "pw"})
	apiErr(t, err, http.StatusUnprocessableEntity, `"email"`)
	_, err = cl.Signup(client.Params{"org_name": "Other", "username": "carol", "email": "carol@example.com", "password": "pw", "application_plan_id": "999999"})
	apiErr(t, err, http.StatusNotFound)
	_, err = cl.Signup(client.Params{"org_name": "Other", "username": "carol", "email": "carol@example.com", "password": "pw", "application_plan_id": "gold"})
	apiErr(t, err, http.StatusUnprocessableEntity, `"application_plan_id"`)
	_, err = cl.Signup(client.Params{"org_name": "Other", "username": "carol", "email": "carol@example.com", "password": "pw", "monthly_billing_enabled": "sometimes"})
	apiErr(t, err, http.StatusUnprocessableEntity, `"monthly_billing_enabled"`)
	code, body := formCall(t, co, http.MethodPost, "/admin/api/signup.xml", url.Values{"username": {"x"}, "email": {"x@example.com"}, "password": {"pw"}})
	assert.Equal(t, http.StatusUnprocessableEntity, code)
	assert.Contains(t, string(body), "<error>Org name can't be blank</error>")

	// A refused signup leaves no account, user or application behind.
	list, err := cl.ListDeveloperAccounts()
	require.NoError(t, err)
	require.Len(t, list.Items, 1)
	code, _ = formCall(t, co, http.MethodGet, "/admin/api/accounts/find.json", url.Values{"username": {"carol"}})
	assert.Equal(t, http.StatusNotFound, code)

	_, err = cl.DeveloperAccount(999999)
	apiErr(t, err, http.StatusNotFound)
	apiErr(t, cl.DeleteDeveloperAccount(999999), http.StatusNotFound)
	id := int64(999999)
	_, err = cl.UpdateDeveloperAccount(&client.DeveloperAccount{Element: client.DeveloperAccountItem{ID: &id}})
	apiErr(t, err, http.StatusNotFound)
	empty := ""
	acc := *list.Items[0].Element.ID
	_, err = cl.UpdateDeveloperAccount(&client.DeveloperAccount{Element: client.DeveloperAccountItem{ID: &acc, OrgName: &empty}})
	apiErr(t, err, http.StatusUnprocessableEntity, `"org_name":["can't be blank"]`)
}

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
	// 3scale's state machine: an active user cannot be activated or unsuspended.
	_, err = cl.ActivateDeveloperUser(acc, *bob.ID)
	apiErr(t, err, http.StatusUnprocessableEntity, `"state"`)
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

	apiErr(t, cl.ActivateUser(acc, id), http.StatusUnprocessableEntity, `"state"`)
	apiErr(t, cl.ActivateUser(acc, 999999), http.StatusNotFound)
	_, err = cl.ReadUser(999999, id)
	apiErr(t, err, http.StatusNotFound)
	_, err = cl.UpdateUser(acc, id, client.Params{"email": ""})
	apiErr(t, err, http.StatusUnprocessableEntity, `"email":["can't be blank"]`)
}

func TestApplications(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	keyed := createProduct(t, cl, "User Key API", nil)
	basic := createPlan(t, cl, keyed, client.Params{"name": "Basic"})
	gold := createPlan(t, cl, keyed, client.Params{"name": "Gold", "cost_per_month": "50"})
	vetted := createPlan(t, cl, keyed, client.Params{"name": "Vetted", "approval_required": "true"})
	appIDs := createProduct(t, cl, "App Id API", client.Params{"backend_version": "2"})
	appIDPlan := createPlan(t, cl, appIDs, client.Params{"name": "Partner"})
	acc := *acSignup(t, cl, "Acme", "alice").ID
	accS := s64(acc)
	require.Empty(t, acApps(t, cl, acc), "no default plan, no signup application")

	app, err := cl.CreateApp(accS, s64(basic.ID), "Mobile", "the mobile app")
	require.NoError(t, err)
	assert.NotZero(t, app.ID)
	assert.Equal(t, "live", app.State)
	assert.Equal(t, accS, app.UserAccountID)
	assert.Equal(t, keyed, app.ServiceID)
	assert.Equal(t, basic.ID, app.PlanID)
	assert.Equal(t, "Mobile", app.AppName)
	assert.Equal(t, "the mobile app", app.Description)
	assert.Regexp(t, acHexKey, app.UserKey)
	assert.Regexp(t, acHexKey, app.ProviderVerificationKey)
	assert.False(t, app.EndUserRequired)
	recentTime(t, app.CreatedAt)
	recentTime(t, app.UpdatedAt)

	member := "/admin/api/accounts/" + accS + "/applications/" + s64(app.ID)
	var one client.ApplicationElem
	decodeCall(t, co, http.MethodGet, member+".json", nil, http.StatusOK, &one)
	assert.Equal(t, app, one.Application)
	var xa acAppXML
	decodeCall(t, co, http.MethodGet, member+".xml", nil, http.StatusOK, &xa)
	assert.Equal(t, app.ID, xa.ID)
	assert.Equal(t, acc, xa.UserAccountID)
	assert.Equal(t, keyed, xa.ServiceID)
	assert.Equal(t, basic.ID, xa.PlanID)
	assert.Equal(t, "live", xa.State)
	assert.Equal(t, "Mobile", xa.Name)
	assert.Equal(t, app.UserKey, xa.UserKey)
	assert.Equal(t, app.ProviderVerificationKey, xa.ProviderVerificationKey)
	assert.Empty(t, xa.ApplicationID)

	// Custom credentials: a user_key, or an app_id with its key.
	var custom client.ApplicationElem
	decodeCall(t, co, http.MethodPost, "/admin/api/accounts/"+accS+"/applications.json",
		url.Values{"plan_id": {s64(gold.ID)}, "name": {"Web"}, "user_key": {"my-own-user-key"}}, http.StatusCreated, &custom)
	assert.Equal(t, "my-own-user-key", custom.Application.UserKey)
	assert.Equal(t, gold.ID, custom.Application.PlanID)
	xa = acAppXML{}
	decodeCall(t, co, http.MethodPost, "/admin/api/accounts/"+accS+"/applications.xml",
		url.Values{"plan_id": {s64(appIDPlan.ID)}, "name": {"Partner App"}, "application_id": {"partner-app"}, "application_key": {"partner-secret"}},
		http.StatusCreated, &xa)
	partnerID := xa.ID
	assert.Equal(t, "partner-app", xa.ApplicationID)
	assert.Equal(t, []string{"partner-secret"}, xa.Keys)
	assert.Empty(t, xa.UserKey)
	assert.Equal(t, appIDs, xa.ServiceID)
	assert.Equal(t, "Partner App", xa.Name)

	pending, err := cl.CreateApp(accS, s64(vetted.ID), "Vetted", "")
	require.NoError(t, err)
	assert.Equal(t, "pending", pending.State, "the plan requires approval")

	apps := acApps(t, cl, acc)
	require.Len(t, apps, 4)
	assert.Equal(t, app, apps[0])
	assert.Equal(t, custom.Application, apps[1])
	assert.Equal(t, partnerID, apps[2].ID)
	assert.Equal(t, pending, apps[3])

	// Update: name, description and user_key; never app_id or the plan.
	var upd client.ApplicationElem
	decodeCall(t, co, http.MethodPut, member+".json",
		url.Values{"name": {"Mobile 2"}, "description": {"renamed"}, "user_key": {"rotated-key"}, "plan_id": {s64(gold.ID)}}, http.StatusOK, &upd)
	assert.Equal(t, app.ID, upd.Application.ID)
	assert.Equal(t, "Mobile 2", upd.Application.AppName)
	assert.Equal(t, "renamed", upd.Application.Description)
	assert.Equal(t, "rotated-key", upd.Application.UserKey)
	assert.Equal(t, basic.ID, upd.Application.PlanID)
	assert.Equal(t, app.CreatedAt, upd.Application.CreatedAt)
	decodeCall(t, co, http.MethodGet, member+".json", nil, http.StatusOK, &one)
	assert.Equal(t, upd.Application, one.Application)
	xa = acAppXML{}
	decodeCall(t, co, http.MethodPut, "/admin/api/accounts/"+accS+"/applications/"+s64(partnerID)+".xml",
		url.Values{"application_id": {"hijacked"}}, http.StatusOK, &xa)
	assert.Equal(t, "partner-app", xa.ApplicationID)

	// Suspend, resume, change plan.
	var st client.ApplicationElem
	decodeCall(t, co, http.MethodPut, member+"/suspend.json", nil, http.StatusOK, &st)
	assert.Equal(t, "suspended", st.Application.State)
	assert.Equal(t, "Mobile 2", st.Application.AppName)
	decodeCall(t, co, http.MethodGet, member+".json", nil, http.StatusOK, &one)
	assert.Equal(t, "suspended", one.Application.State)
	decodeCall(t, co, http.MethodPut, member+"/resume.json", nil, http.StatusOK, &st)
	assert.Equal(t, "live", st.Application.State)
	decodeCall(t, co, http.MethodPut, member+"/change_plan.json", url.Values{"plan_id": {s64(gold.ID)}}, http.StatusOK, &st)
	assert.Equal(t, gold.ID, st.Application.PlanID)
	assert.Equal(t, keyed, st.Application.ServiceID)
	assert.Equal(t, "live", st.Application.State)
	decodeCall(t, co, http.MethodGet, member+".json", nil, http.StatusOK, &one)
	assert.Equal(t, st.Application, one.Application)

	// All applications, filtered.
	var all client.ApplicationList
	decodeCall(t, co, http.MethodGet, "/admin/api/applications.json", nil, http.StatusOK, &all)
	require.Len(t, all.Applications, 4)
	decodeCall(t, co, http.MethodGet, "/admin/api/applications.json", url.Values{"service_id": {s64(appIDs)}}, http.StatusOK, &all)
	require.Len(t, all.Applications, 1)
	assert.Equal(t, partnerID, all.Applications[0].Application.ID)
	decodeCall(t, co, http.MethodGet, "/admin/api/applications.json", url.Values{"plan_id": {s64(gold.ID)}}, http.StatusOK, &all)
	require.Len(t, all.Applications, 2)
	decodeCall(t, co, http.MethodGet, "/admin/api/applications.json", url.Values{"plan_type": {"paid"}}, http.StatusOK, &all)
	require.Len(t, all.Applications, 2)
	assert.Equal(t, app.ID, all.Applications[0].Application.ID)
	assert.Equal(t, custom.Application.ID, all.Applications[1].Application.ID)
	decodeCall(t, co, http.MethodGet, "/admin/api/applications.json", url.Values{"per_page": {"1"}, "page": {"2"}}, http.StatusOK, &all)
	require.Len(t, all.Applications, 1)
	assert.Equal(t, custom.Application.ID, all.Applications[0].Application.ID)
	var allXML struct {
		Apps []struct {
			ID int64 `xml:"id"`
		} `xml:"application"`
	}
	decodeCall(t, co, http.MethodGet, "/admin/api/applications.xml", nil, http.StatusOK, &allXML)
	require.Len(t, allXML.Apps, 4)

	// Application Find.
	for _, q := range []url.Values{
		{"application_id": {s64(app.ID)}},
		{"user_key": {"rotated-key"}},
		{"user_key": {"rotated-key"}, "service_id": {s64(keyed)}},
		{"user_key": {"rotated-key"}, "service_id": {"user_key_api"}},
	} {
		var found client.ApplicationElem
		decodeCall(t, co, http.MethodGet, "/admin/api/applications/find.json", q, http.StatusOK, &found)
		assert.Equal(t, one.Application, found.Application, "find %v", q)
	}
	xa = acAppXML{}
	decodeCall(t, co, http.MethodGet, "/admin/api/applications/find.xml", url.Values{"app_id": {"partner-app"}}, http.StatusOK, &xa)
	assert.Equal(t, partnerID, xa.ID)
	assert.Equal(t, []string{"partner-secret"}, xa.Keys)
	for _, q := range []url.Values{{"user_key": {"nope"}}, {"user_key": {"rotated-key"}, "service_id": {s64(appIDs)}}, {"application_id": {"999999"}}, nil} {
		code, _ := formCall(t, co, http.MethodGet, "/admin/api/applications/find.json", q)
		assert.Equal(t, http.StatusNotFound, code, "find %v", q)
	}

	// Bad input.
	_, err = cl.CreateApp(accS, "", "No Plan", "")
	apiErr(t, err, http.StatusUnprocessableEntity, `"plan_id":["can't be blank"]`)
	_, err = cl.CreateApp(accS, "gold", "Bad Plan", "")
	apiErr(t, err, http.StatusUnprocessableEntity, `"plan_id"`)
	_, err = cl.CreateApp(accS, "999999", "Unknown Plan", "")
	apiErr(t, err, http.StatusNotFound)
	_, err = cl.CreateApp("999999", s64(basic.ID), "Unknown Account", "")
	apiErr(t, err, http.StatusNotFound)
	code, body := formCall(t, co, http.MethodPost, "/admin/api/accounts/"+accS+"/applications.json",
		url.Values{"plan_id": {s64(basic.ID)}, "name": {"Dup"}, "user_key": {"my-own-user-key"}})
	assert.Equal(t, http.StatusUnprocessableEntity, code)
	assert.Contains(t, string(body), `"user_key":["has already been taken"]`)
	code, body = formCall(t, co, http.MethodPut, member+"/change_plan.json", url.Values{"plan_id": {s64(appIDPlan.ID)}})
	assert.Equal(t, http.StatusUnprocessableEntity, code, "a plan of another service")
	assert.Contains(t, string(body), `"plan_id"`)
	code, _ = formCall(t, co, http.MethodPut, member+"/change_plan.json", url.Values{"plan_id": {"999999"}})
	assert.Equal(t, http.StatusNotFound, code)
	code, body = formCall(t, co, http.MethodPut, "/admin/api/accounts/"+accS+"/applications/"+s64(pending.ID)+"/suspend.json", nil)
	assert.Equal(t, http.StatusUnprocessableEntity, code, "a pending application")
	assert.Contains(t, string(body), `"state"`)
	code, _ = formCall(t, co, http.MethodGet, "/admin/api/applications.json", url.Values{"service_id": {"abc"}})
	assert.Equal(t, http.StatusUnprocessableEntity, code)
	other := *acSignup(t, cl, "Other", "bob").ID
	code, _ = formCall(t, co, http.MethodGet, "/admin/api/accounts/"+s64(other)+"/applications/"+s64(app.ID)+".json", nil)
	assert.Equal(t, http.StatusNotFound, code, "an application is only reachable through its account")
	_, err = cl.ListApplications(999999)
	apiErr(t, err, http.StatusNotFound)
	assert.Len(t, acApps(t, cl, acc), 4, "refused writes stored nothing")

	code, _ = formCall(t, co, http.MethodDelete, member+".json", nil)
	assert.Equal(t, http.StatusOK, code)
	code, _ = formCall(t, co, http.MethodGet, member+".json", nil)
	assert.Equal(t, http.StatusNotFound, code)
	assert.Len(t, acApps(t, cl, acc), 3)
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
