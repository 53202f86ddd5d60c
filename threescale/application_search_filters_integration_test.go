package threescale_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"testing"

	"github.com/3scale/3scale-porta-go-client/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// listedAppIDs lists /admin/api/applications.json with q and returns the
// ids listed, sorted.
func listedAppIDs(t *testing.T, co *testenv.Coordinator, q url.Values) []int64 {
	t.Helper()
	ids := []int64{}
	for id := range stateListIDs(t, co, "/admin/api/applications.json", q) {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// Application List (all services) applies every search scope porta allows
// it, not only service_id, plan_id, plan_type and state. The oracle is
// porta:
//
//   - Admin::Api::ApplicationsController#index runs
//     "applications.scope_search(search)", search being
//     ThreeScale::Search.new(params), which drops blank values
//     (app/lib/three_scale/search.rb: "self.reject! { |key, val| val.blank? }");
//   - Cinstance "self.allowed_search_scopes = %w{ service_id plan_id
//     plan_type state account account_query state name user_key
//     active_since inactive_since }" (app/models/cinstance.rb), each applied
//     as "by_<scope>";
//   - Contract.by_account: "user_account_id == account_id" (an integer
//     column: a value that is no number matches nothing);
//   - Cinstance.by_name: "user_key: <key>" is by_user_key, else
//     Contract.by_name, a LIKE on name with "%" added at either end unless
//     already there, under a case-insensitive collation (UTF8_GENERAL_CI);
//   - Cinstance.by_user_key: "where(user_key: user_key)";
//   - by_active_since / by_inactive_since compare first_daily_traffic_at,
//     which Portolan shows null for every application (no traffic is
//     recorded), and a NULL column satisfies neither comparison;
//   - Contract.by_plan_type: "free" is no monthly cost, no setup fee and no
//     pricing rule, "paid" any of them, and any other value "return all";
//   - Contract.by_plan_id is "plan_id.to_i" and the controller's
//     "where(service_id: ...)" casts to an integer column: "abc" lists
//     nothing rather than failing. The controller's condition is
//     "if (service_id = params[:service_id])", so an empty service_id
//     (cast to NULL by ActiveModel's Integer type) lists nothing too.
//
// A client filtering by account or name must not get every application.
func TestApplicationListAppliesPortaSearchScopes(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	acme := *acSignup(t, cl, "Acme", "alice").ID
	globex := *acSignup(t, cl, "Globex", "bob").ID
	product := createProduct(t, cl, "News", nil)
	open := createPlan(t, cl, product, client.Params{"name": "Open"})
	gold := createPlan(t, cl, product, client.Params{"name": "Gold", "cost_per_month": "10"})
	metered := createPlan(t, cl, product, client.Params{"name": "Metered"})
	rules := "/admin/api/application_plans/" + s64(metered.ID) + "/metrics/" + s64(productHits(t, cl, product)) + "/pricing_rules.json"
	code, body := formCall(t, co, http.MethodPost, rules, url.Values{"min": {"1"}, "max": {"100"}, "cost_per_unit": {"0.5"}})
	require.Equal(t, http.StatusCreated, code, "%s", body)

	create := func(account, plan int64, name, userKey string) int64 {
		t.Helper()
		var app struct {
			Application struct {
				ID int64 `json:"id"`
			} `json:"application"`
		}
		form := url.Values{"plan_id": {s64(plan)}, "name": {name}}
		if userKey != "" {
			form.Set("user_key", userKey)
		}
		decodeCall(t, co, http.MethodPost, "/admin/api/accounts/"+s64(account)+"/applications.json", form, http.StatusCreated, &app)
		return app.Application.ID
	}
	reader := create(acme, open.ID, "Weather Reader", "alpha-key")
	ticker := create(acme, gold.ID, "Stock Ticker", "")
	station := create(globex, open.ID, "weather_station", "")
	meter := create(globex, metered.ID, "Meter", "")
	all := []int64{reader, ticker, station, meter}

	for _, tc := range []struct {
		q    url.Values
		want []int64
	}{
		{url.Values{"account": {s64(acme)}}, []int64{reader, ticker}},
		{url.Values{"account": {s64(globex)}}, []int64{station, meter}},
		{url.Values{"account": {"nobody"}}, []int64{}},
		{url.Values{"account": {""}}, all},
		{url.Values{"name": {"weather"}}, []int64{reader, station}},
		{url.Values{"name": {"WEATHER"}}, []int64{reader, station}},
		{url.Values{"name": {"er_R"}}, []int64{reader}},
		{url.Values{"name": {"%ticker"}}, []int64{ticker}},
		{url.Values{"name": {"r_s"}}, []int64{station}},
		{url.Values{"name": {"weather_"}}, []int64{reader, station}},
		{url.Values{"name": {`weather\_`}}, []int64{station}},
		{url.Values{"name": {"user_key: alpha-key"}}, []int64{reader}},
		{url.Values{"name": {"nothing like it"}}, []int64{}},
		{url.Values{"name": {""}}, all},
		{url.Values{"name": {" \t"}, "account": {"  "}, "user_key": {" "}, "state": {" "}}, all},
		{url.Values{"user_key": {"alpha-key"}}, []int64{reader}},
		{url.Values{"user_key": {"alpha"}}, []int64{}},
		{url.Values{"account": {s64(acme)}, "name": {"weather"}}, []int64{reader}},
		{url.Values{"active_since": {"2000-01-01"}}, []int64{}},
		{url.Values{"inactive_since": {"2999-01-01"}}, []int64{}},
		{url.Values{"active_since": {""}, "inactive_since": {""}}, all},
		{url.Values{"plan_type": {"paid"}}, []int64{ticker, meter}},
		{url.Values{"plan_type": {"free"}}, []int64{reader, station}},
		{url.Values{"plan_type": {"bogus"}}, all},
		{url.Values{"plan_id": {"abc"}}, []int64{}},
		{url.Values{"plan_id": {s64(gold.ID) + "abc"}}, []int64{ticker}},
		{url.Values{"service_id": {"abc"}}, []int64{}},
		{url.Values{"service_id": {""}}, []int64{}},
		{url.Values{"service_id": {" " + s64(product)}}, all},
	} {
		assert.Equal(t, tc.want, listedAppIDs(t, co, tc.q), "%v", tc.q)
	}
}

// A state filter of white space only is no filter: Rails' blank? is true
// of it. porta's Account List takes "params[:state].presence"
// (app/controllers/admin/api/accounts_controller.rb), the account's
// application list Contract::States.by_state ("if state.present?",
// app/models/contract/states.rb). A script that sends "state= " must get
// every record, not none.
func TestListsTakeWhiteSpaceStateAsNoFilter(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	acme := *acSignup(t, cl, "Acme", "alice").ID
	product := createProduct(t, cl, "News", nil)
	open := createPlan(t, cl, product, client.Params{"name": "Open"})
	app, err := cl.CreateApp(s64(acme), s64(open.ID), "Reader", "")
	require.NoError(t, err)

	q := url.Values{"state": {" "}}
	assert.Equal(t, map[int64]string{app.ID: "live"},
		stateListIDs(t, co, "/admin/api/accounts/"+s64(acme)+"/applications.json", q))
	var accounts struct {
		Accounts []struct {
			Account struct {
				ID int64 `json:"id"`
			} `json:"account"`
		} `json:"accounts"`
	}
	decodeCall(t, co, http.MethodGet, "/admin/api/accounts.json", q, http.StatusOK, &accounts)
	require.Len(t, accounts.Accounts, 1)
	assert.Equal(t, acme, accounts.Accounts[0].Account.ID)
}

// The user lists filter by state and role with
// "where(params.slice(:state, :role))" (porta's Admin::Api::UsersController
// and BuyersUsersController#users): unlike a search scope, a blank value is
// still a condition, "state = ”", which no user meets. Only a parameter
// left out lists every user.
func TestUserListsCompareBlankStateAndRole(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	acme := *acSignup(t, cl, "Acme", "alice").ID
	count := func(path string, q url.Values) int {
		t.Helper()
		var list struct {
			Users []json.RawMessage `json:"users"`
		}
		decodeCall(t, co, http.MethodGet, path, q, http.StatusOK, &list)
		return len(list.Users)
	}
	code, body := formCall(t, co, http.MethodPost, "/admin/api/users.json",
		url.Values{"username": {"carol"}, "email": {"carol@example.com"}, "password": {"pw-carol"}})
	require.Equal(t, http.StatusCreated, code, "%s", body)
	for _, path := range []string{"/admin/api/users.json", "/admin/api/accounts/" + s64(acme) + "/users.json"} {
		all := count(path, nil)
		require.Positive(t, all, path)
		assert.Equal(t, all, count(path, url.Values{"role": {"admin"}})+count(path, url.Values{"role": {"member"}}), path)
		assert.Zero(t, count(path, url.Values{"state": {""}}), "%s state=", path)
		assert.Zero(t, count(path, url.Values{"role": {""}}), "%s role=", path)
	}
}
