package threescale_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/3scale/3scale-porta-go-client/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// tokenCall sends method path with token as Basic auth, form in the query
// for GET and DELETE, else in the body, and returns status and body.
func tokenCall(t *testing.T, co *testenv.Coordinator, token, method, path string, form url.Values) (int, string) {
	t.Helper()
	var body io.Reader
	if method == http.MethodGet || method == http.MethodDelete {
		if len(form) > 0 {
			path += "?" + form.Encode()
		}
	} else {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, co.URL+path, body)
	require.NoError(t, err)
	req.SetBasicAuth("", token)
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// memberFixture: a provider with services A and B (each with an
// application plan) and a provider member "pat" holding an rw token with
// scopes account_management and stats.
type memberFixture struct {
	co           *testenv.Coordinator
	a, b         int64
	planA, planB int64
	user         string // pat's id
	token        string
}

func newMemberFixture(t *testing.T) *memberFixture {
	t.Helper()
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	f := &memberFixture{co: co}
	f.a = createProduct(t, cl, "Service A", nil)
	f.b = createProduct(t, cl, "Service B", nil)
	f.planA = createPlan(t, cl, f.a, client.Params{"name": "A basic"}).ID
	f.planB = createPlan(t, cl, f.b, client.Params{"name": "B basic"}).ID
	pat := providerUser(t, co, http.MethodPost, "/admin/api/users.json",
		url.Values{"username": {"pat"}, "email": {"pat@provider.example"}}, http.StatusCreated).User
	require.Equal(t, "member", pat.Role)
	f.user = s64(pat.ID)
	var created map[string]accessTokenJSON
	decodeCall(t, co, http.MethodPost, "/admin/api/users/"+f.user+"/access_tokens.json", url.Values{
		"name": {"pat"}, "permission": {"rw"}, "scopes[]": {"account_management", "stats"},
	}, http.StatusCreated, &created)
	f.token = created["access_token"].Value
	require.NotEmpty(t, f.token)
	return f
}

// permit sets pat's permissions as the admin.
func (f *memberFixture) permit(t *testing.T, form url.Values) {
	t.Helper()
	code, body := formCall(t, f.co, http.MethodPut, "/admin/api/users/"+f.user+"/permissions.json", form)
	require.Equal(t, http.StatusOK, code, body)
}

// expect requires pat's token to get want on method path.
func (f *memberFixture) expect(t *testing.T, want int, method, path string, form url.Values) string {
	t.Helper()
	code, body := tokenCall(t, f.co, f.token, method, path, form)
	require.Equal(t, want, code, "%s %s: %s", method, path, body)
	return body
}

// denied requires porta's 403 for a token short of permissions.
func (f *memberFixture) denied(t *testing.T, method, path string) {
	t.Helper()
	body := f.expect(t, http.StatusForbidden, method, path, nil)
	assert.Contains(t, body, "Your access token does not have the correct permissions", "%s %s", method, path)
}

func statsForm() url.Values {
	return url.Values{"metric_name": {"hits"}, "period": {"day"}, "since": {"2026-03-29"}}
}

// A member with partners only: developer accounts and applications, not
// account or service plans, backend APIs, analytics, or the admins'
// operations; its own user and permissions, but no one else's.
func TestMemberWithPartnersManagesAccountsOnly(t *testing.T) {
	f := newMemberFixture(t)
	svcA := "/admin/api/services/" + s64(f.a)

	// No section yet: the account_management scope needs partners.
	f.denied(t, http.MethodGet, "/admin/api/accounts.json")

	f.permit(t, url.Values{"allowed_sections[]": {"partners"}})
	f.expect(t, http.StatusOK, http.MethodGet, "/admin/api/accounts.json", nil)
	body := f.expect(t, http.StatusCreated, http.MethodPost, "/admin/api/signup.json", url.Values{
		"org_name": {"Acme"}, "username": {"acme"}, "email": {"acme@example.com"}, "password": {"secret123"}})
	var acc struct {
		Account struct {
			ID int64 `json:"id"`
		} `json:"account"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &acc))
	f.expect(t, http.StatusOK, http.MethodPut, "/admin/api/accounts/"+s64(acc.Account.ID)+".json", url.Values{"org_name": {"Acme Inc"}})
	// porta's API asks no more than partners for application plans.
	f.expect(t, http.StatusOK, http.MethodGet, svcA+"/application_plans.json", nil)
	f.expect(t, http.StatusOK, http.MethodGet, svcA+"/metrics.json", nil)

	for _, path := range []string{"/admin/api/account_plans.json", "/admin/api/service_plans.json",
		svcA + "/service_plans.json", "/admin/api/backend_apis.json"} {
		f.denied(t, http.MethodGet, path)
	}
	f.denied(t, http.MethodPost, "/admin/api/account_plans.json")

	// Analytics needs monitoring: the stats scope's section.
	f.denied(t, http.MethodGet, "/stats/services/"+s64(f.a)+"/usage.json")

	// The admins' operations.
	f.denied(t, http.MethodGet, "/admin/api/users.json")
	f.denied(t, http.MethodPost, "/admin/api/users.json")
	f.denied(t, http.MethodPut, "/admin/api/users/"+f.user+"/admin.json")
	f.denied(t, http.MethodPut, "/admin/api/users/"+f.user+"/permissions.json")
	f.denied(t, http.MethodDelete, svcA+".json")

	// Itself, but no other user.
	f.expect(t, http.StatusOK, http.MethodGet, "/admin/api/users/"+f.user+".json", nil)
	f.expect(t, http.StatusOK, http.MethodGet, "/admin/api/users/"+f.user+"/permissions.json", nil)
	other := providerUser(t, f.co, http.MethodPost, "/admin/api/users.json",
		url.Values{"username": {"quinn"}, "email": {"quinn@provider.example"}}, http.StatusCreated).User
	f.denied(t, http.MethodGet, "/admin/api/users/"+s64(other.ID)+".json")
	f.denied(t, http.MethodPost, "/admin/api/users/"+s64(other.ID)+"/access_tokens.json")

	// Personal tokens: a member's are its own; it sees no other's.
	var admins map[string]accessTokenJSON
	decodeCall(t, f.co, http.MethodPost, "/admin/api/personal/access_tokens.json", url.Values{
		"name": {"admin's"}, "permission": {"ro"}, "scopes[]": {"account_management"}}, http.StatusCreated, &admins)
	adminsToken := "/admin/api/personal/access_tokens/" + s64(admins["access_token"].ID) + ".json"
	f.expect(t, http.StatusNotFound, http.MethodGet, adminsToken, nil)
	f.expect(t, http.StatusNotFound, http.MethodDelete, adminsToken, nil)
	code, _ := rawCall(t, f.co, http.MethodGet, adminsToken, "", "")
	assert.Equal(t, http.StatusOK, code, "the admin's token survives")
	f.expect(t, http.StatusCreated, http.MethodPost, "/admin/api/personal/access_tokens.json", url.Values{
		"name": {"pat's second"}, "permission": {"ro"}, "scopes[]": {"account_management"}})
	var list struct {
		Tokens []map[string]accessTokenJSON `json:"access_tokens"`
	}
	require.NoError(t, json.Unmarshal([]byte(f.expect(t, http.StatusOK, http.MethodGet, "/admin/api/personal/access_tokens.json", nil)), &list))
	var names []string
	for _, tok := range list.Tokens {
		names = append(names, tok["access_token"].Name)
	}
	assert.ElementsMatch(t, []string{"pat", "pat's second"}, names)
}

// allowed_service_ids: a member reaches the listed services, their plans
// and analytics; another service is not found, as in porta.
func TestMemberServicesRestrictWhatItReaches(t *testing.T) {
	f := newMemberFixture(t)
	f.permit(t, url.Values{"allowed_sections[]": {"partners", "monitoring", "plans"}, "allowed_service_ids[]": {s64(f.a)}})
	svcA, svcB := "/admin/api/services/"+s64(f.a), "/admin/api/services/"+s64(f.b)

	f.expect(t, http.StatusOK, http.MethodGet, svcA+"/metrics.json", nil)
	f.expect(t, http.StatusNotFound, http.MethodGet, svcB+"/metrics.json", nil)
	f.expect(t, http.StatusOK, http.MethodGet, svcA+".json", nil)
	f.expect(t, http.StatusNotFound, http.MethodGet, svcB+".json", nil)
	f.expect(t, http.StatusNotFound, http.MethodPut, svcB+".json", url.Values{"name": {"taken over"}})
	f.expect(t, http.StatusOK, http.MethodGet, "/admin/api/application_plans/"+s64(f.planA)+"/limits.json", nil)
	f.expect(t, http.StatusNotFound, http.MethodGet, "/admin/api/application_plans/"+s64(f.planB)+"/limits.json", nil)
	f.expect(t, http.StatusOK, http.MethodGet, "/admin/api/account_plans.json", nil)
	f.expect(t, http.StatusOK, http.MethodGet, "/stats/services/"+s64(f.a)+"/usage.json", statsForm())
	f.expect(t, http.StatusNotFound, http.MethodGet, "/stats/services/"+s64(f.b)+"/usage.json", statsForm())

	// Lists of every service's entities hold the reachable ones only.
	var services struct {
		Services []struct {
			Service struct {
				ID int64 `json:"id"`
			} `json:"service"`
		} `json:"services"`
	}
	require.NoError(t, json.Unmarshal([]byte(f.expect(t, http.StatusOK, http.MethodGet, "/admin/api/services.json", nil)), &services))
	require.Len(t, services.Services, 1)
	assert.Equal(t, f.a, services.Services[0].Service.ID)
	var plans struct {
		Plans []struct {
			Plan struct {
				ID int64 `json:"id"`
			} `json:"application_plan"`
		} `json:"plans"`
	}
	require.NoError(t, json.Unmarshal([]byte(f.expect(t, http.StatusOK, http.MethodGet, "/admin/api/application_plans.json", nil)), &plans))
	require.Len(t, plans.Plans, 1)
	assert.Equal(t, f.planA, plans.Plans[0].Plan.ID)

	// Applications of another service are not found either.
	var acc struct {
		Account struct {
			ID int64 `json:"id"`
		} `json:"account"`
	}
	decodeCall(t, f.co, http.MethodPost, "/admin/api/signup.json", url.Values{"org_name": {"Acme"}, "username": {"acme"},
		"email": {"acme@example.com"}, "password": {"secret123"}}, http.StatusCreated, &acc)
	apps := "/admin/api/accounts/" + s64(acc.Account.ID) + "/applications"
	var app struct {
		Application struct {
			ID int64 `json:"id"`
		} `json:"application"`
	}
	decodeCall(t, f.co, http.MethodPost, apps+".json", url.Values{"plan_id": {s64(f.planB)}, "name": {"on B"}}, http.StatusCreated, &app)
	f.expect(t, http.StatusNotFound, http.MethodGet, apps+"/"+s64(app.Application.ID)+".json", nil)
	f.expect(t, http.StatusNotFound, http.MethodGet, "/admin/api/applications/find.json",
		url.Values{"application_id": {s64(app.Application.ID)}})
	_, all := rawCall(t, f.co, http.MethodGet, "/admin/api/applications.json", "", "")
	assert.Contains(t, string(all), `"name":"on B"`, "the admin's list has it")
	assert.JSONEq(t, `{"applications":[]}`, f.expect(t, http.StatusOK, http.MethodGet, "/admin/api/applications.json", nil))
	assert.JSONEq(t, `{"applications":[]}`, f.expect(t, http.StatusOK, http.MethodGet, apps+".json", nil))
	f.expect(t, http.StatusNotFound, http.MethodGet, "/stats/applications/"+s64(app.Application.ID)+"/usage.json", statsForm())
	// Nor can the member put an application on B's plan, or list B's
	// service plans.
	f.expect(t, http.StatusNotFound, http.MethodPost, apps+".json", url.Values{"plan_id": {s64(f.planB)}, "name": {"mine on B"}})
	f.expect(t, http.StatusCreated, http.MethodPost, apps+".json", url.Values{"plan_id": {s64(f.planA)}, "name": {"mine on A"}})
	var sp struct {
		ServicePlan struct {
			ID int64 `json:"id"`
		} `json:"service_plan"`
	}
	decodeCall(t, f.co, http.MethodPost, svcB+"/service_plans.json", url.Values{"name": {"B's service plan"}}, http.StatusCreated, &sp)
	_, allPlans := rawCall(t, f.co, http.MethodGet, "/admin/api/service_plans.json", "", "")
	assert.Contains(t, string(allPlans), "B's service plan", "the admin's list has it")
	assert.NotContains(t, f.expect(t, http.StatusOK, http.MethodGet, "/admin/api/service_plans.json", nil), "B's service plan")
	// Nor subscribe an account to B, nor see its subscription to B.
	subs := "/admin/api/accounts/" + s64(acc.Account.ID) + "/service_subscriptions"
	f.expect(t, http.StatusNotFound, http.MethodPost, subs+".json", url.Values{"plan_id": {s64(sp.ServicePlan.ID)}})
	decodeCall(t, f.co, http.MethodPost, subs+".json", url.Values{"plan_id": {s64(sp.ServicePlan.ID)}}, http.StatusCreated, &struct{}{})
	_, adminSubs := rawCall(t, f.co, http.MethodGet, subs+".json", "", "")
	assert.Contains(t, string(adminSubs), `"service_id":`+s64(f.b), "the admin's list has it")
	assert.NotContains(t, f.expect(t, http.StatusOK, http.MethodGet, subs+".json", nil), `"service_id":`+s64(f.b))

	// The Service Management API with the member's token as service token:
	// B is as unknown as a service that does not exist (apisonator's 403
	// service_token_invalid for a token that does not reach the service).
	for svc, want := range map[int64]string{f.b: "service_token_invalid", f.a: "user_key_invalid"} {
		resp, err := http.Get(f.co.URL + "/transactions/authorize.xml?" + url.Values{
			"service_token": {f.token}, "service_id": {s64(svc)}, "user_key": {"nobody"}}.Encode())
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Contains(t, string(body), `code="`+want+`"`, "service %d", svc)
	}

	// apisonator's internal API is not a member's.
	code, _ := tokenCall(t, f.co, f.token, http.MethodGet, "/internal/events/", nil)
	assert.Equal(t, http.StatusForbidden, code)

	// No service at all: none reached.
	f.permit(t, url.Values{"allowed_service_ids[]": {"[]"}})
	f.expect(t, http.StatusNotFound, http.MethodGet, svcA+"/metrics.json", nil)
}

// An admin user's token has every right; a change of role or state holds
// from the next call on.
func TestUserRoleAndStateTakeEffectOnTheNextCall(t *testing.T) {
	f := newMemberFixture(t)
	f.permit(t, url.Values{"allowed_sections[]": {"partners"}, "allowed_service_ids[]": {s64(f.a)}})
	svcB := "/admin/api/services/" + s64(f.b)
	f.expect(t, http.StatusNotFound, http.MethodGet, svcB+"/metrics.json", nil)

	providerUser(t, f.co, http.MethodPut, "/admin/api/users/"+f.user+"/admin.json", nil, http.StatusOK)
	f.expect(t, http.StatusOK, http.MethodGet, svcB+"/metrics.json", nil)
	f.expect(t, http.StatusOK, http.MethodGet, "/admin/api/users.json", nil)
	f.expect(t, http.StatusOK, http.MethodGet, "/admin/api/backend_apis.json", nil)
	f.expect(t, http.StatusOK, http.MethodGet, "/stats/services/"+s64(f.b)+"/usage.json", statsForm())

	providerUser(t, f.co, http.MethodPut, "/admin/api/users/"+f.user+"/member.json", nil, http.StatusOK)
	f.expect(t, http.StatusNotFound, http.MethodGet, svcB+"/metrics.json", nil)
	f.denied(t, http.MethodGet, "/admin/api/users.json")

	providerUser(t, f.co, http.MethodPut, "/admin/api/users/"+f.user+"/suspend.json", nil, http.StatusOK)
	body := f.expect(t, http.StatusForbidden, http.MethodGet, "/admin/api/accounts.json", nil)
	assert.Contains(t, body, "Access denied", "a suspended user's token authenticates nothing")
	providerUser(t, f.co, http.MethodPut, "/admin/api/users/"+f.user+"/unsuspend.json", nil, http.StatusOK)
	f.expect(t, http.StatusOK, http.MethodGet, "/admin/api/accounts.json", nil)
}
