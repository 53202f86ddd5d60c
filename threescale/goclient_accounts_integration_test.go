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

// The official Go client's account calls against the families issue 14 adds
// to accounts: approve / reject / make_pending, credit card, account plans
// (change_plan) and messages. The client has no call for those; what it
// reads (DeveloperAccount, ListDeveloperAccounts) and writes
// (UpdateDeveloperAccount) must show and keep their effect.

// gcAccountState reads an account's state through the client, alone and in
// the list.
func gcAccountState(t *testing.T, cl *client.ThreeScaleClient, id int64) string {
	t.Helper()
	read, err := cl.DeveloperAccount(id)
	require.NoError(t, err)
	list, err := cl.ListDeveloperAccounts()
	require.NoError(t, err)
	for _, a := range list.Items {
		if *a.Element.ID == id {
			assert.Equal(t, *read.Element.State, *a.Element.State, "the list and the read agree")
		}
	}
	return *read.Element.State
}

func TestGoClientAccountReadsShowStateCardAndPlanChanges(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	acc := acSignup(t, cl, "Acme", "alice")
	id := *acc.ID
	path := "/admin/api/accounts/" + s64(id)
	assert.Equal(t, "approved", *acc.State)
	require.NotNil(t, acc.CreditCardStored)
	assert.False(t, *acc.CreditCardStored)

	for _, step := range []struct{ event, state string }{
		{"make_pending", "pending"}, {"reject", "rejected"}, {"approve", "approved"},
	} {
		code, body := formCall(t, co, http.MethodPut, path+"/"+step.event+".json", nil)
		require.Equal(t, http.StatusOK, code, "%s: %s", step.event, body)
		assert.Equal(t, step.state, gcAccountState(t, cl, id), step.event)
	}

	card := url.Values{
		"credit_card_token": {"cus_123"}, "credit_card_expiration_year": {"2030"}, "credit_card_expiration_month": {"7"},
		"billing_address_name": {"Acme Ltd"}, "billing_address_address": {"1 Main St"}, "billing_address_city": {"Paris"},
		"billing_address_country": {"France"}, "credit_card_partial_number": {"4242"},
	}
	code, body := formCall(t, co, http.MethodPut, path+"/credit_card.json", card)
	require.Equal(t, http.StatusOK, code, "%s", body)
	read, err := cl.DeveloperAccount(id)
	require.NoError(t, err)
	require.NotNil(t, read.Element.CreditCardStored)
	assert.True(t, *read.Element.CreditCardStored)

	// A new account plan, and the account moved onto it.
	var plan struct {
		AccountPlan struct {
			ID int64 `json:"id"`
		} `json:"account_plan"`
	}
	decodeCall(t, co, http.MethodPost, "/admin/api/account_plans.json", url.Values{"name": {"Gold"}}, http.StatusCreated, &plan)
	code, body = formCall(t, co, http.MethodPut, path+"/change_plan.json", url.Values{"plan_id": {s64(plan.AccountPlan.ID)}})
	require.Equal(t, http.StatusOK, code, "%s", body)
	code, body = formCall(t, co, http.MethodPost, "/admin/api/accounts/"+s64(id)+"/messages.json",
		url.Values{"subject": {"Hello"}, "body": {"Welcome aboard"}})
	require.Equal(t, http.StatusCreated, code, "%s", body)

	// The client's update keeps the card, the plan and the state it does not
	// send.
	renamed := "Acme Corp"
	updated, err := cl.UpdateDeveloperAccount(&client.DeveloperAccount{Element: client.DeveloperAccountItem{ID: &id, OrgName: &renamed}})
	require.NoError(t, err)
	assert.Equal(t, "Acme Corp", *updated.Element.OrgName)
	assert.Equal(t, "approved", *updated.Element.State)
	require.NotNil(t, updated.Element.CreditCardStored)
	assert.True(t, *updated.Element.CreditCardStored)
	var onPlan struct {
		AccountPlan struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		} `json:"account_plan"`
	}
	decodeCall(t, co, http.MethodGet, path+"/plan.json", nil, http.StatusOK, &onPlan)
	assert.Equal(t, plan.AccountPlan.ID, onPlan.AccountPlan.ID)
	assert.Equal(t, "Gold", onPlan.AccountPlan.Name)

	code, body = formCall(t, co, http.MethodDelete, path+"/credit_card.json", nil)
	require.Equal(t, http.StatusOK, code, "%s", body)
	read, err = cl.DeveloperAccount(id)
	require.NoError(t, err)
	assert.False(t, *read.Element.CreditCardStored)

	require.NoError(t, cl.DeleteDeveloperAccount(id))
	_, err = cl.DeveloperAccount(id)
	apiErr(t, err, http.StatusNotFound)
	code, _ = formCall(t, co, http.MethodPut, path+"/approve.json", nil)
	assert.Equal(t, http.StatusNotFound, code)
}

// The client's Signup passes account_plan_id through, as 3scale's Signup
// Express takes it: the account goes on that plan rather than the default.
func TestGoClientSignupOnAnAccountPlan(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	plan := func(name string) int64 {
		t.Helper()
		var out struct {
			AccountPlan struct {
				ID int64 `json:"id"`
			} `json:"account_plan"`
		}
		decodeCall(t, co, http.MethodPost, "/admin/api/account_plans.json", url.Values{"name": {name}}, http.StatusCreated, &out)
		return out.AccountPlan.ID
	}
	basic, gold := plan("Basic"), plan("Gold")
	code, body := formCall(t, co, http.MethodPut, "/admin/api/account_plans/"+s64(basic)+"/default.json", nil)
	require.Equal(t, http.StatusOK, code, "%s", body)
	onPlan := func(account int64) int64 {
		t.Helper()
		var out struct {
			AccountPlan struct {
				ID int64 `json:"id"`
			} `json:"account_plan"`
		}
		decodeCall(t, co, http.MethodGet, "/admin/api/accounts/"+s64(account)+"/plan.json", nil, http.StatusOK, &out)
		return out.AccountPlan.ID
	}

	plain, err := cl.Signup(client.Params{"org_name": "Plain", "username": "plain"})
	require.NoError(t, err)
	assert.Equal(t, basic, onPlan(*plain.Element.ID), "without account_plan_id, the default plan")
	golden, err := cl.Signup(client.Params{"org_name": "Golden", "username": "golden", "account_plan_id": s64(gold)})
	require.NoError(t, err)
	assert.Equal(t, gold, onPlan(*golden.Element.ID))

	_, err = cl.Signup(client.Params{"org_name": "Lost", "username": "lost", "account_plan_id": "999999"})
	apiErr(t, err, http.StatusNotFound)
	_, err = cl.Signup(client.Params{"org_name": "Typo", "username": "typo", "account_plan_id": "gold"})
	apiErr(t, err, http.StatusUnprocessableEntity, `"account_plan_id"`)
	list, err := cl.ListDeveloperAccounts()
	require.NoError(t, err)
	assert.Len(t, list.Items, 2, "a refused signup creates nothing")
}

// The client's Signup passes service_plan_id through, as 3scale's Signup
// Express takes it: the new account is subscribed to that plan's service
// through it, and to every other service through its default service plan.
func TestGoClientSignupSubscribesThroughServicePlans(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	news, weather := createProduct(t, cl, "News", nil), createProduct(t, cl, "Weather", nil)
	createProduct(t, cl, "Bare", nil) // no service plan: no subscription
	newsDefault := spCreate(t, co, news, url.Values{"name": {"News default"}})
	newsGold := spCreate(t, co, news, url.Values{"name": {"News gold"}, "approval_required": {"true"}})
	weatherDefault := spCreate(t, co, weather, url.Values{"name": {"Weather default"}})
	for _, p := range []struct{ service, plan int64 }{{news, newsDefault.ID}, {weather, weatherDefault.ID}} {
		code, body := formCall(t, co, http.MethodPut, "/admin/api/services/"+s64(p.service)+"/service_plans/"+s64(p.plan)+"/default.json", nil)
		require.Equal(t, http.StatusOK, code, "%s", body)
	}
	subscriptions := func(account int64) map[int64]ssSub {
		t.Helper()
		var list ssSubList
		decodeCall(t, co, http.MethodGet, "/admin/api/accounts/"+s64(account)+"/service_subscriptions.json", nil, http.StatusOK, &list)
		out := map[int64]ssSub{}
		for _, s := range list.Subs {
			out[s.Sub.ServiceID] = s.Sub
		}
		return out
	}

	plain, err := cl.Signup(client.Params{"org_name": "Plain", "username": "plain"})
	require.NoError(t, err)
	subs := subscriptions(*plain.Element.ID)
	require.Len(t, subs, 2)
	assert.Equal(t, newsDefault.ID, subs[news].PlanID)
	assert.Equal(t, weatherDefault.ID, subs[weather].PlanID)
	assert.Equal(t, "live", subs[news].State)

	gold, err := cl.Signup(client.Params{"org_name": "Gold", "username": "gold", "service_plan_id": s64(newsGold.ID)})
	require.NoError(t, err)
	subs = subscriptions(*gold.Element.ID)
	require.Len(t, subs, 2)
	assert.Equal(t, newsGold.ID, subs[news].PlanID)
	assert.Equal(t, "pending", subs[news].State, "the gold plan requires approval")
	assert.Equal(t, weatherDefault.ID, subs[weather].PlanID)

	_, err = cl.Signup(client.Params{"org_name": "Lost", "username": "lost", "service_plan_id": "999999"})
	apiErr(t, err, http.StatusNotFound)
	_, err = cl.Signup(client.Params{"org_name": "Typo", "username": "typo", "service_plan_id": "gold"})
	apiErr(t, err, http.StatusUnprocessableEntity, `"service_plan_id"`)
	list, err := cl.ListDeveloperAccounts()
	require.NoError(t, err)
	assert.Len(t, list.Items, 2, "a refused signup creates nothing")
}
