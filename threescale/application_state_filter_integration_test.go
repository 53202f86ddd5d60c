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

// stateListIDs lists path's applications (JSON) with query q and returns
// their ids and states.
func stateListIDs(t *testing.T, co *testenv.Coordinator, path string, q url.Values) map[int64]string {
	t.Helper()
	var list struct {
		Applications []struct {
			Application struct {
				ID    int64  `json:"id"`
				State string `json:"state"`
			} `json:"application"`
		} `json:"applications"`
	}
	decodeCall(t, co, http.MethodGet, path, q, http.StatusOK, &list)
	out := map[int64]string{}
	for _, a := range list.Applications {
		out[a.Application.ID] = a.Application.State
	}
	return out
}

// Both application lists filter by state, as porta's do:
//
//   - Admin::Api::BuyersApplicationsController#index (account's list):
//     "respond_with(applications.by_state(params[:state]))";
//   - Admin::Api::ApplicationsController#index (all services):
//     "applications.scope_search(search)", where Cinstance's
//     allowed_search_scopes include "state" and ThreeScale::Search drops
//     blank values.
//
// Contract::States.by_state is "where(state: state.to_s)" when present and
// everything when blank, so an unknown state lists nothing. A client that
// asks for the suspended (or pending, awaiting approval) applications must
// not get the live ones too.
func TestApplicationListsFilterByState(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	acc := *acSignup(t, cl, "Acme", "alice").ID
	other := *acSignup(t, cl, "Globex", "bob").ID
	product := createProduct(t, cl, "News", nil)
	open := createPlan(t, cl, product, client.Params{"name": "Open"})
	spare := createPlan(t, cl, product, client.Params{"name": "Spare"})
	reviewed := createPlan(t, cl, product, client.Params{"name": "Reviewed", "approval_required": "true"})

	live, err := cl.CreateApp(s64(acc), s64(open.ID), "Reader", "")
	require.NoError(t, err)
	suspended, err := cl.CreateApp(s64(acc), s64(spare.ID), "Paused", "")
	require.NoError(t, err)
	pending, err := cl.CreateApp(s64(acc), s64(reviewed.ID), "Vetted", "")
	require.NoError(t, err)
	require.Equal(t, "pending", pending.State)
	otherLive, err := cl.CreateApp(s64(other), s64(open.ID), "Other", "")
	require.NoError(t, err)
	accApps := "/admin/api/accounts/" + s64(acc) + "/applications"
	code, body := formCall(t, co, http.MethodPut, accApps+"/"+s64(suspended.ID)+"/suspend.json", nil)
	require.Equal(t, http.StatusOK, code, "%s", body)

	for _, tc := range []struct {
		state       string
		all, forAcc map[int64]string
	}{
		{"live", map[int64]string{live.ID: "live", otherLive.ID: "live"}, map[int64]string{live.ID: "live"}},
		{"suspended", map[int64]string{suspended.ID: "suspended"}, map[int64]string{suspended.ID: "suspended"}},
		{"pending", map[int64]string{pending.ID: "pending"}, map[int64]string{pending.ID: "pending"}},
		{"bogus", map[int64]string{}, map[int64]string{}},
		{"", map[int64]string{live.ID: "live", suspended.ID: "suspended", pending.ID: "pending", otherLive.ID: "live"},
			map[int64]string{live.ID: "live", suspended.ID: "suspended", pending.ID: "pending"}},
	} {
		q := url.Values{"state": {tc.state}}
		assert.Equal(t, tc.all, stateListIDs(t, co, "/admin/api/applications.json", q), "all services, state=%q", tc.state)
		assert.Equal(t, tc.forAcc, stateListIDs(t, co, accApps+".json", q), "account's list, state=%q", tc.state)
	}

	// The XML lists filter the same way.
	var xmlList struct {
		Apps []struct {
			ID    int64  `xml:"id"`
			State string `xml:"state"`
		} `xml:"application"`
	}
	for _, path := range []string{"/admin/api/applications.xml", accApps + ".xml"} {
		xmlList.Apps = nil
		decodeCall(t, co, http.MethodGet, path, url.Values{"state": {"suspended"}}, http.StatusOK, &xmlList)
		require.Len(t, xmlList.Apps, 1, path)
		assert.Equal(t, suspended.ID, xmlList.Apps[0].ID, path)
		assert.Equal(t, "suspended", xmlList.Apps[0].State, path)
	}

	// Application Find answers for a suspended or pending application too:
	// Admin::Api::ApplicationsController#find looks it up by user_key with
	// no state condition.
	for id, key := range map[int64]string{suspended.ID: suspended.UserKey, pending.ID: pending.UserKey} {
		var found struct {
			Application struct {
				ID    int64  `json:"id"`
				State string `json:"state"`
			} `json:"application"`
		}
		decodeCall(t, co, http.MethodGet, "/admin/api/applications/find.json", url.Values{"user_key": {key}}, http.StatusOK, &found)
		assert.Equal(t, id, found.Application.ID)
	}
}
