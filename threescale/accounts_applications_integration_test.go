package threescale_test

import (
	"encoding/xml"
	"net/http"
	"net/url"
	"testing"

	"github.com/3scale/3scale-porta-go-client/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

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
	// A service_id that is no number lists nothing: porta's
	// "cinstances.where(service_id: ...)" on an integer column, which
	// ActiveModel's Integer type serializes to NULL ("abc" is no number).
	code, body = formCall(t, co, http.MethodGet, "/admin/api/applications.json", url.Values{"service_id": {"abc"}})
	assert.Equal(t, http.StatusOK, code)
	assert.JSONEq(t, `{"applications":[]}`, string(body))
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
