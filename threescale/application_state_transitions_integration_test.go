package threescale_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/3scale/3scale-porta-go-client/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// porta's Contract state machine (app/models/contract.rb), which an
// application's suspend and resume fire without a bang
// (BuyersApplicationsController: "application.suspend; respond_with
// application"):
//
//	event :suspend do
//	  transition :live => :suspended
//	end
//	event :resume do
//	  transition :suspended => :live
//	end
//
// An event the state does not allow leaves state_machine's invalid_transition
// error on state, 'cannot transition via "suspend"', which respond_with
// answers with 422: suspending a suspended (or pending) application and
// resuming a live (or pending) one are refused, not answered as done.
func TestApplicationSuspendAndResumeAreRefusedFromStatesPortaDoesNotAllow(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	acc := *acSignup(t, cl, "Acme", "alice").ID
	product := createProduct(t, cl, "News", nil)
	open := createPlan(t, cl, product, client.Params{"name": "Open"})
	reviewed := createPlan(t, cl, product, client.Params{"name": "Reviewed", "approval_required": "true"})

	live, err := cl.CreateApp(s64(acc), s64(open.ID), "Reader", "")
	require.NoError(t, err)
	require.Equal(t, "live", live.State)
	pending, err := cl.CreateApp(s64(acc), s64(reviewed.ID), "Vetted", "")
	require.NoError(t, err)
	require.Equal(t, "pending", pending.State)
	base := "/admin/api/accounts/" + s64(acc) + "/applications/"

	refused := func(id int64, event, state string) {
		t.Helper()
		code, body := formCall(t, co, http.MethodPut, base+s64(id)+"/"+event+".json", nil)
		assert.Equal(t, []string{`cannot transition via "` + event + `"`}, fieldErrors(t, code, body)["state"],
			"%s of a %s application: porta's state machine has no such transition", event, state)
		var read struct {
			Application struct {
				State string `json:"state"`
			} `json:"application"`
		}
		decodeCall(t, co, http.MethodGet, base+s64(id)+".json", nil, http.StatusOK, &read)
		assert.Equal(t, state, read.Application.State, "a refused %s leaves the application %s", event, state)
	}

	refused(live.ID, "resume", "live")
	refused(pending.ID, "suspend", "pending")
	refused(pending.ID, "resume", "pending")

	code, body := formCall(t, co, http.MethodPut, base+s64(live.ID)+"/suspend.json", url.Values{})
	require.Equal(t, http.StatusOK, code, "%s", body)
	var st map[string]map[string]any
	require.NoError(t, json.Unmarshal(body, &st))
	assert.Equal(t, "suspended", st["application"]["state"])
	refused(live.ID, "suspend", "suspended")

	code, body = formCall(t, co, http.MethodPut, base+s64(live.ID)+"/resume.json", nil)
	require.Equal(t, http.StatusOK, code, "%s", body)
	refused(live.ID, "resume", "live")
}
