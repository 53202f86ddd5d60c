package threescale_test

import (
	"encoding/xml"
	"net/http"
	"net/url"
	"regexp"
	"testing"

	"github.com/3scale/3scale-porta-go-client/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
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
