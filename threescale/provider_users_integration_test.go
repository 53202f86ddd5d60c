package threescale_test

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

type providerUserJSON struct {
	User struct {
		ID        int64  `json:"id"`
		AccountID int64  `json:"account_id"`
		Username  string `json:"username"`
		Email     string `json:"email"`
		Role      string `json:"role"`
		State     string `json:"state"`
	} `json:"user"`
}

// providerUser sends a provider user call that must answer status and
// returns the user it answers.
func providerUser(t *testing.T, co *testenv.Coordinator, method, path string, form url.Values, status int) providerUserJSON {
	t.Helper()
	var u providerUserJSON
	decodeCall(t, co, method, path, form, status, &u)
	return u
}

func TestProviderUsersLifecycleAs3scale(t *testing.T) {
	co := testenv.StartCoordinator(t)

	var list struct {
		Users []providerUserJSON `json:"users"`
	}
	decodeCall(t, co, http.MethodGet, "/admin/api/users.json", nil, http.StatusOK, &list)
	assert.Empty(t, list.Users, "a new provider has no users")

	// 3scale requires an email of the users a provider creates.
	status, body := formCall(t, co, http.MethodPost, "/admin/api/users.json", url.Values{"username": {"ann"}})
	assert.Equal(t, []string{"can't be blank"}, fieldErrors(t, status, body)["email"])

	code, body := formCall(t, co, http.MethodPost, "/admin/api/users.json",
		url.Values{"username": {"ann"}, "email": {"ann@provider.example"}, "password": {"s3cret-pass"}})
	require.Equal(t, http.StatusCreated, code, "%s", body)
	assert.NotContains(t, string(body), "password", "a password is never rendered")
	assert.NotContains(t, string(body), "s3cret-pass")
	var ann providerUserJSON
	require.NoError(t, json.Unmarshal(body, &ann))
	assert.Equal(t, int64(1), ann.User.AccountID, "the provider's account")
	assert.Equal(t, "pending", ann.User.State, "a new user is pending")
	assert.Equal(t, "member", ann.User.Role, "and a member")
	id := s64(ann.User.ID)
	member := "/admin/api/users/" + id

	// Taken usernames are refused, as for developer users.
	status, body = formCall(t, co, http.MethodPost, "/admin/api/users.json",
		url.Values{"username": {"ann"}, "email": {"other@provider.example"}})
	assert.Equal(t, []string{"has already been taken"}, fieldErrors(t, status, body)["username"])

	// Read, in both formats.
	got := providerUser(t, co, http.MethodGet, member+".json", nil, http.StatusOK)
	assert.Equal(t, ann, got)
	var x struct {
		XMLName   xml.Name `xml:"user"`
		ID        int64    `xml:"id"`
		AccountID int64    `xml:"account_id"`
		Username  string   `xml:"username"`
	}
	decodeCall(t, co, http.MethodGet, member+".xml", nil, http.StatusOK, &x)
	assert.Equal(t, ann.User.ID, x.ID)
	assert.Equal(t, int64(1), x.AccountID)
	assert.Equal(t, "ann", x.Username)

	// Update; the email may not go blank.
	got = providerUser(t, co, http.MethodPut, member+".json", url.Values{"email": {"ann@team.example"}}, http.StatusOK)
	assert.Equal(t, "ann@team.example", got.User.Email)
	status, body = formCall(t, co, http.MethodPut, member+".json", url.Values{"email": {""}})
	assert.Equal(t, []string{"can't be blank"}, fieldErrors(t, status, body)["email"])

	// The state machine and the roles.
	status, _ = formCall(t, co, http.MethodPut, member+"/unsuspend.json", nil)
	assert.Equal(t, http.StatusUnprocessableEntity, status, "a pending user cannot be unsuspended")
	assert.Equal(t, "active", providerUser(t, co, http.MethodPut, member+"/activate.json", nil, http.StatusOK).User.State)
	assert.Equal(t, "suspended", providerUser(t, co, http.MethodPut, member+"/suspend.json", nil, http.StatusOK).User.State)
	assert.Equal(t, "active", providerUser(t, co, http.MethodPut, member+"/unsuspend.json", nil, http.StatusOK).User.State)
	assert.Equal(t, "admin", providerUser(t, co, http.MethodPut, member+"/admin.json", nil, http.StatusOK).User.Role)
	var ax struct {
		Role string `xml:"role"`
	}
	decodeCall(t, co, http.MethodPut, member+"/member.xml", nil, http.StatusOK, &ax)
	assert.Equal(t, "member", ax.Role)

	// The list filters by state and role.
	bob := providerUser(t, co, http.MethodPost, "/admin/api/users.json",
		url.Values{"username": {"bob"}, "email": {"bob@provider.example"}}, http.StatusCreated)
	decodeCall(t, co, http.MethodGet, "/admin/api/users.json", nil, http.StatusOK, &list)
	assert.Len(t, list.Users, 2)
	decodeCall(t, co, http.MethodGet, "/admin/api/users.json", url.Values{"state": {"pending"}}, http.StatusOK, &list)
	require.Len(t, list.Users, 1)
	assert.Equal(t, "bob", list.Users[0].User.Username)
	decodeCall(t, co, http.MethodGet, "/admin/api/users.json", url.Values{"role": {"admin"}}, http.StatusOK, &list)
	assert.Empty(t, list.Users)

	// Delete.
	status, _ = formCall(t, co, http.MethodDelete, "/admin/api/users/"+s64(bob.User.ID)+".json", nil)
	assert.Equal(t, http.StatusOK, status)
	status, _ = formCall(t, co, http.MethodGet, "/admin/api/users/"+s64(bob.User.ID)+".json", nil)
	assert.Equal(t, http.StatusNotFound, status)
	decodeCall(t, co, http.MethodGet, "/admin/api/users.json", nil, http.StatusOK, &list)
	assert.Len(t, list.Users, 1)
}

func TestProviderAndDeveloperUsersStayApart(t *testing.T) {
	co := testenv.StartCoordinator(t)
	staff := providerUser(t, co, http.MethodPost, "/admin/api/users.json",
		url.Values{"username": {"staff"}, "email": {"staff@provider.example"}}, http.StatusCreated)
	acc := co.Create(t, "/admin/api/signup.json", "org_name=Acme&username=dev&email=dev@acme.example")
	var devs struct {
		Users []providerUserJSON `json:"users"`
	}
	decodeCall(t, co, http.MethodGet, "/admin/api/accounts/"+acc+"/users.json", nil, http.StatusOK, &devs)
	require.Len(t, devs.Users, 1)
	dev := devs.Users[0].User.ID

	status, _ := formCall(t, co, http.MethodGet, "/admin/api/users/"+s64(dev)+".json", nil)
	assert.Equal(t, http.StatusNotFound, status, "a developer is no provider user")
	status, _ = formCall(t, co, http.MethodGet, "/admin/api/accounts/"+acc+"/users/"+s64(staff.User.ID)+".json", nil)
	assert.Equal(t, http.StatusNotFound, status, "nor is a provider user a developer's")
	status, _ = formCall(t, co, http.MethodGet, "/admin/api/accounts/1/users.json", nil)
	assert.Equal(t, http.StatusNotFound, status, "the provider's account is no developer account")
	var list struct {
		Users []providerUserJSON `json:"users"`
	}
	decodeCall(t, co, http.MethodGet, "/admin/api/users.json", nil, http.StatusOK, &list)
	require.Len(t, list.Users, 1)
	assert.Equal(t, staff.User.ID, list.Users[0].User.ID)
}

type permissionsJSON struct {
	Permissions struct {
		UserID            int64    `json:"user_id"`
		Role              string   `json:"role"`
		AllowedSections   []string `json:"allowed_sections"`
		AllowedServiceIDs *[]int64 `json:"allowed_service_ids"`
		Links             []struct {
			Rel  string `json:"rel"`
			Href string `json:"href"`
		} `json:"links"`
	} `json:"permissions"`
}

func TestProviderUserPermissionsAs3scale(t *testing.T) {
	co := testenv.StartCoordinator(t)
	u := providerUser(t, co, http.MethodPost, "/admin/api/users.json",
		url.Values{"username": {"mia"}, "email": {"mia@provider.example"}}, http.StatusCreated)
	id := s64(u.User.ID)
	path := "/admin/api/users/" + id + "/permissions"
	news := co.Create(t, "/admin/api/services.json", "name=News")
	weather := co.Create(t, "/admin/api/services.json", "name=Weather")

	// A new member: no section, every service (null).
	code, body := formCall(t, co, http.MethodGet, path+".json", nil)
	require.Equal(t, http.StatusOK, code, "%s", body)
	assert.Contains(t, string(body), `"allowed_service_ids":null`)
	var p permissionsJSON
	require.NoError(t, json.Unmarshal(body, &p))
	assert.Equal(t, u.User.ID, p.Permissions.UserID)
	assert.Equal(t, "member", p.Permissions.Role)
	assert.Equal(t, []string{}, p.Permissions.AllowedSections)
	require.Len(t, p.Permissions.Links, 1)
	assert.Equal(t, "user", p.Permissions.Links[0].Rel)
	assert.Equal(t, co.URL+"/admin/api/accounts/1/users/"+id, p.Permissions.Links[0].Href)

	// Sections come back sorted; services as sent.
	code, body = rawCall(t, co, http.MethodPut, path+".json", "application/x-www-form-urlencoded",
		"allowed_sections%5B%5D=portal&allowed_sections%5B%5D=monitoring&allowed_service_ids%5B%5D="+weather+
			"&allowed_service_ids%5B%5D="+news)
	require.Equal(t, http.StatusOK, code, "%s", body)
	require.NoError(t, json.Unmarshal(body, &p))
	assert.Equal(t, []string{"monitoring", "portal"}, p.Permissions.AllowedSections)
	require.NotNil(t, p.Permissions.AllowedServiceIDs)
	assert.Equal(t, []int64{mustID(t, weather), mustID(t, news)}, *p.Permissions.AllowedServiceIDs)

	var px struct {
		XMLName  xml.Name `xml:"permissions"`
		UserID   int64    `xml:"user_id"`
		Role     string   `xml:"role"`
		Sections []string `xml:"allowed_sections>admin_section"`
		Services []int64  `xml:"allowed_service_ids>allowed_service_id"`
	}
	decodeCall(t, co, http.MethodGet, path+".xml", nil, http.StatusOK, &px)
	assert.Equal(t, []string{"monitoring", "portal"}, px.Sections)
	assert.Equal(t, []int64{mustID(t, weather), mustID(t, news)}, px.Services)

	// Deleting a service takes it out of the member's services.
	status, _ := formCall(t, co, http.MethodDelete, "/admin/api/services/"+weather+".json", nil)
	require.Equal(t, http.StatusOK, status)
	decodeCall(t, co, http.MethodGet, path+".json", nil, http.StatusOK, &p)
	assert.Equal(t, []int64{mustID(t, news)}, *p.Permissions.AllowedServiceIDs)

	// allowed_service_ids[] with an empty value: no service; without
	// brackets and value: every service again.
	code, body = rawCall(t, co, http.MethodPut, path+".json", "application/x-www-form-urlencoded", "allowed_service_ids%5B%5D=")
	require.Equal(t, http.StatusOK, code, "%s", body)
	assert.Contains(t, string(body), `"allowed_service_ids":[]`)
	assert.Contains(t, string(body), `"allowed_sections":["monitoring","portal"]`, "sections not sent are left alone")
	code, body = rawCall(t, co, http.MethodPut, path+".xml", "application/x-www-form-urlencoded", "allowed_service_ids=")
	require.Equal(t, http.StatusOK, code, "%s", body)
	assert.NotContains(t, string(body), "allowed_service_ids", "every service: no list in XML")

	// A JSON body, wrapped in permissions.
	code, body = rawCall(t, co, http.MethodPut, path+".json", "application/json",
		`{"permissions":{"allowed_sections":["plans"],"allowed_service_ids":[`+news+`]}}`)
	require.Equal(t, http.StatusOK, code, "%s", body)
	require.NoError(t, json.Unmarshal(body, &p))
	assert.Equal(t, []string{"plans"}, p.Permissions.AllowedSections)
	assert.Equal(t, []int64{mustID(t, news)}, *p.Permissions.AllowedServiceIDs)

	// Unknown sections and services are refused, and change nothing.
	status, body = rawCall(t, co, http.MethodPut, path+".json", "application/x-www-form-urlencoded", "allowed_sections%5B%5D=cms")
	assert.Contains(t, fieldErrors(t, status, body), "allowed_sections")
	status, body = rawCall(t, co, http.MethodPut, path+".json", "application/x-www-form-urlencoded", "allowed_service_ids%5B%5D=999999")
	assert.Contains(t, fieldErrors(t, status, body), "allowed_service_ids")
	decodeCall(t, co, http.MethodGet, path+".json", nil, http.StatusOK, &p)
	assert.Equal(t, []string{"plans"}, p.Permissions.AllowedSections)

	// An admin may use everything.
	providerUser(t, co, http.MethodPut, "/admin/api/users/"+id+"/admin.json", nil, http.StatusOK)
	code, body = formCall(t, co, http.MethodGet, path+".json", nil)
	require.Equal(t, http.StatusOK, code, "%s", body)
	require.NoError(t, json.Unmarshal(body, &p))
	assert.Equal(t, "admin", p.Permissions.Role)
	assert.Equal(t, []string{"finance", "monitoring", "partners", "plans", "policy_registry", "portal", "settings"}, p.Permissions.AllowedSections)
	assert.Contains(t, string(body), `"allowed_service_ids":null`)

	status, _ = formCall(t, co, http.MethodGet, "/admin/api/users/999999/permissions.json", nil)
	assert.Equal(t, http.StatusNotFound, status)
}

func mustID(t *testing.T, s string) int64 {
	t.Helper()
	var id int64
	require.NoError(t, json.Unmarshal([]byte(s), &id))
	return id
}
