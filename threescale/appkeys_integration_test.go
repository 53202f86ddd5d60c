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

// The differences of issue 14 the official clients found in applications and
// accounts, each held against a running coordinator.

// akApp is an application's JSON as a map, to see which members it has.
type akApp struct {
	Application map[string]any `json:"application"`
}

// akSetup starts a coordinator with a user_key product (plan Basic), an
// app_id product (plan Partner) and an account; it returns the paths of the
// account's applications.
type akSetup struct {
	co                     *testenv.Coordinator
	cl                     *client.ThreeScaleClient
	keyed, appIDs          int64
	basic, partner, vetted client.ApplicationPlanItem
	acc                    int64
	apps                   string
}

func newAKSetup(t *testing.T) akSetup {
	t.Helper()
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	s := akSetup{co: co, cl: cl}
	s.keyed = createProduct(t, cl, "User Key API", nil)
	s.basic = createPlan(t, cl, s.keyed, client.Params{"name": "Basic"})
	s.vetted = createPlan(t, cl, s.keyed, client.Params{"name": "Vetted", "approval_required": "true"})
	s.appIDs = createProduct(t, cl, "App Id API", client.Params{"backend_version": "2"})
	s.partner = createPlan(t, cl, s.appIDs, client.Params{"name": "Partner"})
	s.acc = *acSignup(t, cl, "Acme", "alice").ID
	s.apps = "/admin/api/accounts/" + s64(s.acc) + "/applications"
	return s
}

// create makes an application on plan with form's extra parameters.
func (s akSetup) create(t *testing.T, plan int64, form url.Values) map[string]any {
	t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("plan_id", s64(plan))
	var out akApp
	decodeCall(t, s.co, http.MethodPost, s.apps+".json", form, http.StatusCreated, &out)
	return out.Application
}

func idOf(t *testing.T, app map[string]any) string {
	t.Helper()
	id, ok := app["id"].(float64)
	require.True(t, ok, "application id in %v", app)
	return s64(int64(id))
}

func TestApplicationCreateNeedsNoName(t *testing.T) {
	s := newAKSetup(t)
	app := s.create(t, s.basic.ID, nil)
	assert.Equal(t, "Application on plan Basic", app["name"], "3scale's name for an application without one")
	// As the 3scale-api gem sends it: a JSON body with the plan only.
	code, body := rawCall(t, s.co, http.MethodPost, s.apps+".json", "application/json", `{"plan_id":`+s64(s.partner.ID)+`}`)
	require.Equal(t, http.StatusCreated, code, "%s", body)
	assert.Contains(t, string(body), `"name":"Application on plan Partner"`)
}

func TestSignupIsMinimal(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	acc, err := cl.Signup(client.Params{"org_name": "Minimal", "username": "minnie"})
	require.NoError(t, err, "3scale's API signup needs no email and no password")
	users := acUsers(t, cl, *acc.Element.ID, nil)
	require.Len(t, users, 1)
	assert.Equal(t, "minnie", *users[0].Username)
	assert.Equal(t, "admin", *users[0].Role)
	assert.Equal(t, "active", *users[0].State)

	_, err = cl.Signup(client.Params{"org_name": "No User"})
	apiErr(t, err, http.StatusUnprocessableEntity, `"username":["can't be blank"]`)
	// A user the provider creates still needs an email, not a password.
	carol, email := "carol", "carol@minimal.example"
	_, err = cl.CreateDeveloperUser(*acc.Element.ID, &client.DeveloperUser{Element: client.DeveloperUserItem{Username: &carol}})
	apiErr(t, err, http.StatusUnprocessableEntity, `"email":["can't be blank"]`)
	created, err := cl.CreateDeveloperUser(*acc.Element.ID, &client.DeveloperUser{Element: client.DeveloperUserItem{Username: &carol, Email: &email}})
	require.NoError(t, err, "no password needed")
	assert.Equal(t, "carol", *created.Element.Username)
}

func TestDerivedSystemNamesFoldHyphens(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	p, err := cl.CreateProduct("My Service-One", nil)
	require.NoError(t, err)
	assert.Equal(t, "my_service_one", p.Element.SystemName)
	m, err := cl.CreateProductMetric(p.Element.ID, client.Params{"friendly_name": "My Metric-One", "unit": "hit"})
	require.NoError(t, err)
	assert.Equal(t, "my_metric_one", m.Element.SystemName)
	meth, err := cl.CreateProductMethod(p.Element.ID, productHits(t, cl, p.Element.ID), client.Params{"friendly_name": "Get-Items (v2)"})
	require.NoError(t, err)
	assert.Equal(t, "get_items_v2", meth.Element.SystemName)
	plan := createPlan(t, cl, p.Element.ID, client.Params{"name": "Gold-Plan Café"})
	assert.Equal(t, "gold_plan_cafe", plan.SystemName)
}

func TestApplicationShowsItsServiceCredentialsAndEnabled(t *testing.T) {
	s := newAKSetup(t)
	keyed := s.create(t, s.basic.ID, url.Values{"name": {"Keyed"}})
	assert.Equal(t, true, keyed["enabled"])
	assert.Contains(t, keyed, "user_key")
	assert.Contains(t, keyed, "provider_verification_key")
	assert.NotContains(t, keyed, "application_id", "a user_key application has no app_id on the wire")
	assert.NotContains(t, keyed, "keys")
	assert.Equal(t, float64(s.acc), keyed["account_id"])

	partner := s.create(t, s.partner.ID, url.Values{"name": {"Partner"}, "application_key": {"partner-secret"}})
	assert.Contains(t, partner, "application_id")
	assert.NotContains(t, partner, "user_key")
	assert.NotContains(t, partner, "provider_verification_key")
	assert.NotContains(t, partner, "keys", "3scale's JSON has no keys; they are at .../keys.json")
	var x struct {
		UserKey string   `xml:"user_key"`
		AppID   string   `xml:"application_id"`
		Keys    []string `xml:"keys>key"`
	}
	decodeCall(t, s.co, http.MethodGet, s.apps+"/"+idOf(t, partner)+".xml", nil, http.StatusOK, &x)
	assert.Equal(t, []string{"partner-secret"}, x.Keys)
	assert.NotEmpty(t, x.AppID)
	assert.Empty(t, x.UserKey)
	code, body := formCall(t, s.co, http.MethodGet, s.apps+"/"+idOf(t, keyed)+".xml", nil)
	require.Equal(t, http.StatusOK, code)
	assert.NotContains(t, string(body), "<application_id>")
	assert.NotContains(t, string(body), "<keys>")

	var out akApp
	decodeCall(t, s.co, http.MethodPut, s.apps+"/"+idOf(t, keyed)+"/suspend.json", nil, http.StatusOK, &out)
	assert.Equal(t, false, out.Application["enabled"])
}

func TestApplicationAccept(t *testing.T) {
	s := newAKSetup(t)
	pending := s.create(t, s.vetted.ID, url.Values{"name": {"Vetted"}})
	require.Equal(t, "pending", pending["state"])
	assert.Equal(t, false, pending["enabled"])
	member := s.apps + "/" + idOf(t, pending)
	var out akApp
	decodeCall(t, s.co, http.MethodPut, member+"/accept.json", nil, http.StatusOK, &out)
	assert.Equal(t, "live", out.Application["state"])
	assert.Equal(t, true, out.Application["enabled"])
	code, body := formCall(t, s.co, http.MethodPut, member+"/accept.json", nil)
	assert.Equal(t, map[string][]string{"state": {`cannot transition via "accept"`}}, fieldErrors(t, code, body))
	code, _ = formCall(t, s.co, http.MethodPut, s.apps+"/999999/accept.json", nil)
	assert.Equal(t, http.StatusNotFound, code)
	var x struct {
		State string `xml:"state"`
	}
	decodeCall(t, s.co, http.MethodGet, member+".xml", nil, http.StatusOK, &x)
	assert.Equal(t, "live", x.State)
}

func TestApplicationKeys(t *testing.T) {
	s := newAKSetup(t)
	app := s.create(t, s.partner.ID, url.Values{"name": {"Partner"}, "application_key": {"first-key"}})
	keys := s.apps + "/" + idOf(t, app) + "/keys"
	type keyList struct {
		Keys []struct {
			Key struct {
				Value     string `json:"value"`
				CreatedAt string `json:"created_at"`
			} `json:"key"`
		} `json:"keys"`
	}
	values := func() []string {
		var l keyList
		decodeCall(t, s.co, http.MethodGet, keys+".json", nil, http.StatusOK, &l)
		out := []string{}
		for _, k := range l.Keys {
			recentTime(t, k.Key.CreatedAt)
			out = append(out, k.Key.Value)
		}
		return out
	}
	assert.Equal(t, []string{"first-key"}, values())

	// Create answers the application, 201.
	var created akApp
	decodeCall(t, s.co, http.MethodPost, keys+".json", url.Values{"key": {"second-key"}}, http.StatusCreated, &created)
	assert.Equal(t, app["id"], created.Application["id"])
	// Without a key, 3scale generates one.
	decodeCall(t, s.co, http.MethodPost, keys+".json", nil, http.StatusCreated, &created)
	got := values()
	require.Len(t, got, 3)
	assert.Equal(t, []string{"first-key", "second-key"}, got[:2])
	assert.Regexp(t, acHexKey, got[2])

	for _, c := range []struct {
		key, want string
	}{
		{"abc", "is too short (minimum is 5 characters)"},
		{"second-key", "has already been taken"},
		{"tab\tkey", "is invalid"},
	} {
		code, body := formCall(t, s.co, http.MethodPost, keys+".json", url.Values{"key": {c.key}})
		assert.Equal(t, []string{c.want}, fieldErrors(t, code, body)["value"], c.key)
	}
	decodeCall(t, s.co, http.MethodPost, keys+".xml", url.Values{"key": {"fourth-key"}}, http.StatusCreated, &struct{}{})
	decodeCall(t, s.co, http.MethodPost, keys+".json", url.Values{"key": {"fifth-key"}}, http.StatusCreated, &created)
	code, body := formCall(t, s.co, http.MethodPost, keys+".json", url.Values{"key": {"sixth-key"}})
	assert.Contains(t, fieldErrors(t, code, body), "base", "at most 5 keys")

	// Delete answers the application; an unknown key is 404.
	var deleted akApp
	decodeCall(t, s.co, http.MethodDelete, keys+"/second-key.json", nil, http.StatusOK, &deleted)
	assert.Equal(t, app["id"], deleted.Application["id"])
	assert.NotContains(t, values(), "second-key")
	code, _ = formCall(t, s.co, http.MethodDelete, keys+"/second-key.json", nil)
	assert.Equal(t, http.StatusNotFound, code)

	var x struct {
		XMLName xml.Name `xml:"keys"`
		Keys    []struct {
			Value string `xml:"value"`
		} `xml:"key"`
	}
	decodeCall(t, s.co, http.MethodGet, keys+".xml", nil, http.StatusOK, &x)
	require.Len(t, x.Keys, 4)
	assert.Equal(t, "first-key", x.Keys[0].Value)

	code, _ = formCall(t, s.co, http.MethodGet, s.apps+"/999999/keys.json", nil)
	assert.Equal(t, http.StatusNotFound, code)
	other := *acSignup(t, s.cl, "Other", "bob").ID
	code, _ = formCall(t, s.co, http.MethodGet, "/admin/api/accounts/"+s64(other)+"/applications/"+idOf(t, app)+"/keys.json", nil)
	assert.Equal(t, http.StatusNotFound, code, "keys only through the application's account")
}

func TestApplicationReferrerFilters(t *testing.T) {
	s := newAKSetup(t)
	app := s.create(t, s.basic.ID, url.Values{"name": {"Web"}})
	filters := s.apps + "/" + idOf(t, app) + "/referrer_filters"
	type filterList struct {
		Filters []struct {
			Filter struct {
				ID    int64  `json:"id"`
				Value string `json:"value"`
			} `json:"referrer_filter"`
		} `json:"referrer_filters"`
	}
	var l filterList
	decodeCall(t, s.co, http.MethodGet, filters+".json", nil, http.StatusOK, &l)
	assert.Empty(t, l.Filters)

	var created akApp
	decodeCall(t, s.co, http.MethodPost, filters+".json", url.Values{"referrer_filter": {"*.example.com"}}, http.StatusCreated, &created)
	assert.Equal(t, app["id"], created.Application["id"], "create answers the application")
	decodeCall(t, s.co, http.MethodPost, filters+".json", url.Values{"referrer_filter": {"10.0.0.1"}}, http.StatusCreated, &created)
	decodeCall(t, s.co, http.MethodGet, filters+".json", nil, http.StatusOK, &l)
	require.Len(t, l.Filters, 2)
	assert.Equal(t, "*.example.com", l.Filters[0].Filter.Value)
	assert.Equal(t, "10.0.0.1", l.Filters[1].Filter.Value)
	assert.NotEqual(t, l.Filters[0].Filter.ID, l.Filters[1].Filter.ID)

	for _, c := range []struct{ value, want string }{
		{"", "can't be blank"},
		{"http://example.com/", "is invalid"},
		{"10.0.0.1", "has already been taken"},
	} {
		code, body := formCall(t, s.co, http.MethodPost, filters+".json", url.Values{"referrer_filter": {c.value}})
		assert.Equal(t, []string{c.want}, fieldErrors(t, code, body)["value"], c.value)
	}
	for _, v := range []string{"a.example", "b.example", "c.example"} {
		decodeCall(t, s.co, http.MethodPost, filters+".json", url.Values{"referrer_filter": {v}}, http.StatusCreated, &created)
	}
	code, body := formCall(t, s.co, http.MethodPost, filters+".json", url.Values{"referrer_filter": {"d.example"}})
	assert.Contains(t, fieldErrors(t, code, body), "base", "at most 5 filters")

	var x struct {
		Filters []struct {
			ID    int64  `xml:"id"`
			Value string `xml:"value"`
		} `xml:"referrer_filter"`
	}
	decodeCall(t, s.co, http.MethodGet, filters+".xml", nil, http.StatusOK, &x)
	require.Len(t, x.Filters, 5)
	assert.Equal(t, l.Filters[0].Filter.ID, x.Filters[0].ID)

	var deleted akApp
	decodeCall(t, s.co, http.MethodDelete, filters+"/"+s64(l.Filters[0].Filter.ID)+".json", nil, http.StatusOK, &deleted)
	assert.Equal(t, app["id"], deleted.Application["id"])
	decodeCall(t, s.co, http.MethodGet, filters+".json", nil, http.StatusOK, &l)
	require.Len(t, l.Filters, 4)
	assert.Equal(t, "10.0.0.1", l.Filters[0].Filter.Value)
	code, _ = formCall(t, s.co, http.MethodDelete, filters+"/999999.json", nil)
	assert.Equal(t, http.StatusNotFound, code)
}

func TestAccountStateEvents(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	acc := "/admin/api/accounts/" + s64(*acSignup(t, cl, "Acme", "alice").ID)
	type accountJSON struct {
		Account struct {
			State string `json:"state"`
		} `json:"account"`
	}
	step := func(event, want string) {
		t.Helper()
		var out accountJSON
		decodeCall(t, co, http.MethodPut, acc+"/"+event+".json", nil, http.StatusOK, &out)
		assert.Equal(t, want, out.Account.State, event)
	}
	refused := func(event string) {
		t.Helper()
		code, body := formCall(t, co, http.MethodPut, acc+"/"+event+".json", nil)
		assert.Equal(t, map[string][]string{"state": {`cannot transition via "` + event + `"`}}, fieldErrors(t, code, body))
	}
	refused("approve") // a signup is approved already
	step("make_pending", "pending")
	refused("make_pending")
	step("reject", "rejected")
	refused("reject")
	step("approve", "approved")
	step("reject", "rejected")
	step("make_pending", "pending")
	step("approve", "approved")
	var x struct {
		State string `xml:"state"`
	}
	decodeCall(t, co, http.MethodPut, acc+"/make_pending.xml", nil, http.StatusOK, &x)
	assert.Equal(t, "pending", x.State)
	code, _ := formCall(t, co, http.MethodPut, "/admin/api/accounts/999999/approve.json", nil)
	assert.Equal(t, http.StatusNotFound, code)

	// An unknown account plan is 404, as 3scale answers it.
	code, _ = formCall(t, co, http.MethodPut, acc+"/change_plan.json", url.Values{"plan_id": {"1"}})
	assert.Equal(t, http.StatusNotFound, code)
}

func TestProviderAccountRead(t *testing.T) {
	co := testenv.StartCoordinator(t)
	var out struct {
		Account map[string]any `json:"account"`
	}
	decodeCall(t, co, http.MethodGet, "/admin/api/provider.json", nil, http.StatusOK, &out)
	assert.Equal(t, float64(1), out.Account["id"])
	assert.Equal(t, "approved", out.Account["state"])
	u, err := url.Parse(co.URL)
	require.NoError(t, err)
	assert.Equal(t, u.Hostname(), out.Account["admin_domain"])
	assert.Equal(t, co.URL, out.Account["admin_base_url"])
	for _, k := range []string{"domain", "base_url", "from_email", "support_email", "finance_support_email", "org_name"} {
		assert.Contains(t, out.Account, k)
	}
	var x struct {
		XMLName xml.Name `xml:"account"`
		ID      int64    `xml:"id"`
	}
	decodeCall(t, co, http.MethodGet, "/admin/api/provider.xml", nil, http.StatusOK, &x)
	assert.Equal(t, int64(1), x.ID)
}
