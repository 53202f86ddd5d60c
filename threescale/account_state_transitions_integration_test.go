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

// accountStateOf reads an account's state through Account Read.
func accountStateOf(t *testing.T, co *testenv.Coordinator, id int64) string {
	t.Helper()
	var read struct {
		Account struct {
			State string `json:"state"`
		} `json:"account"`
	}
	decodeCall(t, co, http.MethodGet, "/admin/api/accounts/"+s64(id)+".json", nil, http.StatusOK, &read)
	return read.Account.State
}

// porta's account state machine (app/models/account/states.rb):
//
//	event :make_pending: created, approved, rejected => pending
//	event :approve:      created, pending, rejected  => approved
//	event :reject:       created, pending, approved  => rejected
//
// Admin::Api::AccountsController fires each without a bang
// ("buyer_account.approve; respond_with(buyer_account)"), so an event the
// state does not allow leaves state_machine's 'cannot transition via
// "approve"' on state and respond_with answers 422 with it; the account
// keeps its state.
func TestAccountEventsAreRefusedFromTheirTargetState(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	id := *acSignup(t, cl, "Acme", "alice").ID
	path := "/admin/api/accounts/" + s64(id)

	refused := func(event, state string) {
		t.Helper()
		code, body := formCall(t, co, http.MethodPut, path+"/"+event+".json", nil)
		assert.Equal(t, []string{`cannot transition via "` + event + `"`}, fieldErrors(t, code, body)["state"],
			"%s of a %s account", event, state)
		assert.Equal(t, state, accountStateOf(t, co, id), "a refused %s leaves the account %s", event, state)
	}
	allowed := func(event, state string) {
		t.Helper()
		code, body := formCall(t, co, http.MethodPut, path+"/"+event+".json", url.Values{})
		require.Equal(t, http.StatusOK, code, "%s: %s", event, body)
		assert.Equal(t, state, accountStateOf(t, co, id))
	}

	require.Equal(t, "approved", accountStateOf(t, co, id))
	refused("approve", "approved")
	allowed("make_pending", "pending")
	refused("make_pending", "pending")
	allowed("reject", "rejected")
	refused("reject", "rejected")
	allowed("approve", "approved")
}

// state is no attribute an Application Update sets: porta's Contract lists
// it in attr_protected (app/models/contract.rb: "attr_protected :plan_id,
// :state, ..."), so only accept moves a pending application to live and an
// update cannot skip the approval its plan asks for. A state parameter
// does not make the member a filtered list either: the update finds the
// application by id.
func TestApplicationUpdateDoesNotSetTheState(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	acc := *acSignup(t, cl, "Acme", "alice").ID
	product := createProduct(t, cl, "News", nil)
	reviewed := createPlan(t, cl, product, client.Params{"name": "Reviewed", "approval_required": "true"})
	pending, err := cl.CreateApp(s64(acc), s64(reviewed.ID), "Vetted", "")
	require.NoError(t, err)
	require.Equal(t, "pending", pending.State)

	member := "/admin/api/accounts/" + s64(acc) + "/applications/" + s64(pending.ID)
	code, body := formCall(t, co, http.MethodPut, member+".json", url.Values{"state": {"live"}, "description": {"let me in"}})
	require.Equal(t, http.StatusOK, code, "%s", body)
	var read struct {
		Application struct {
			State       string `json:"state"`
			Description string `json:"description"`
		} `json:"application"`
	}
	decodeCall(t, co, http.MethodGet, member+".json", nil, http.StatusOK, &read)
	assert.Equal(t, "let me in", read.Application.Description)
	assert.Equal(t, "pending", read.Application.State, "an update does not accept the application")

}
