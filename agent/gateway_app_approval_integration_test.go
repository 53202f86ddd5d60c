package agent_test

import (
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// An application on a plan with approval_required is pending and the
// gateway refuses it until the provider accepts it; the account's own
// state (make_pending, reject) does not touch its applications' access.
//
// Oracles: porta's Contract#accept_on_create skips accept when
// "plan.approval_required?" (app/models/contract.rb), and the state it
// syncs to apisonator is the application's alone ("state = :active if
// live?", Backend::ModelExtensions::Cinstance#update_backend_application),
// which Validators::State refuses unless active ("application is not
// active"), APIcast answering that denial with its auth-failed 403. The
// account's state machine (app/models/account/states.rb) runs no callback on
// a buyer's applications for make_pending or reject, and
// Contract::States#enabled? is "live? && buyer_account.enabled?", where
// Account#enabled? looks at scheduled_for_deletion alone.
func TestGatewayRefusesAPendingAppUntilAcceptedAndIgnoresTheAccountState(t *testing.T) {
	co := testenv.StartCoordinator(t)
	sid, _ := countedService(t, co, "News", "news")
	var p struct {
		Plan struct{ ID int64 } `json:"application_plan"`
	}
	adminCall(t, co, "POST", fmt.Sprintf("/admin/api/services/%d/application_plans.json", sid), "name=Reviewed&approval_required=true", &p)
	acct, key := signUp(t, co, p.Plan.ID)
	var apps struct {
		Applications []struct {
			App struct {
				ID      int64
				State   string `json:"state"`
				Enabled bool   `json:"enabled"`
			} `json:"application"`
		} `json:"applications"`
	}
	adminCall(t, co, "GET", fmt.Sprintf("/admin/api/accounts/%d/applications.json", acct), "", &apps)
	require.Len(t, apps.Applications, 1)
	app := apps.Applications[0].App
	require.Equal(t, "pending", app.State, "the signup's application on a plan needing approval")

	host, port := gwUpstream(t, "news-instance")
	gw := testenv.FreeAddr(t)
	a := testenv.StartAgent(t, co, "--service", "news", "--address", host, "--port", port,
		"--gateway-listen", gw, "--upstream", "http://"+net.JoinHostPort(host, port),
		"--heartbeat", "300ms", "--ttl", "1s", "--", "sleep", "120")
	url := "http://" + gw + "/articles?user_key=" + key
	// The gateway knows the service once it has the composition.
	require.Eventually(t, func() bool { return get(t, "http://"+gw+"/articles").status == http.StatusForbidden }, 10*time.Second, 20*time.Millisecond)
	assert.Equal(t, reply{403, "Authentication failed\n"}, get(t, url), "a pending application is not active")

	adminCall(t, co, "PUT", fmt.Sprintf("/admin/api/accounts/%d/applications/%d/accept.json", acct, app.ID), "", nil)
	require.Eventually(t, func() bool { return get(t, url) == reply{200, "news-instance"} }, 10*time.Second, 20*time.Millisecond,
		"an accepted application is live")

	// The account made pending, then rejected: its live application still
	// passes, and reads live and enabled.
	for _, event := range []string{"make_pending", "reject"} {
		adminCall(t, co, "PUT", fmt.Sprintf("/admin/api/accounts/%d/%s.json", acct, event), "", nil)
		rev := co.Revision(t)
		require.Eventually(t, func() bool {
			self, ok := a.Self()
			r, _ := self["revision"].(float64)
			return ok && uint64(r) >= rev
		}, 10*time.Second, 20*time.Millisecond, "the agent has the revision of the account's %s", event)
		assert.Equal(t, reply{200, "news-instance"}, get(t, url), "after the account's %s", event)
		adminCall(t, co, "GET", fmt.Sprintf("/admin/api/accounts/%d/applications.json", acct), "", &apps)
		require.Len(t, apps.Applications, 1)
		assert.Equal(t, "live", apps.Applications[0].App.State, "after the account's %s", event)
		assert.True(t, apps.Applications[0].App.Enabled, "after the account's %s", event)
	}
}
