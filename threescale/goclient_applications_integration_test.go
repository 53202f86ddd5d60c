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

// The official Go client's application and plan calls against the families
// issue 14 adds to applications: accept, customize / decustomize plan,
// application keys and referrer filters. The client creates, lists and reads
// plans; it must see each of those operations' effect and decode every
// answer.

// gcApp lists an account's applications through the client and returns id.
func gcApp(t *testing.T, cl *client.ThreeScaleClient, account, id int64) client.Application {
	t.Helper()
	for _, a := range acApps(t, cl, account) {
		if a.ID == id {
			return a
		}
	}
	t.Fatalf("application %d not listed for account %d", id, account)
	return client.Application{}
}

func TestGoClientApplicationsShowAcceptCustomPlansAndKeys(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	acc := *acSignup(t, cl, "Acme", "alice").ID
	product := createProduct(t, cl, "News", client.Params{"backend_version": "2"})
	plan := createPlan(t, cl, product, client.Params{"name": "Reviewed", "approval_required": "true"})
	assert.True(t, plan.ApprovalRequired)

	// A plan that needs approval makes a pending application; accept makes
	// it live.
	app, err := cl.CreateApp(s64(acc), s64(plan.ID), "Reader", "reads the news")
	require.NoError(t, err)
	assert.Equal(t, "pending", app.State)
	base := "/admin/api/accounts/" + s64(acc) + "/applications/" + s64(app.ID)
	code, body := formCall(t, co, http.MethodPut, base+"/accept.json", nil)
	require.Equal(t, http.StatusOK, code, "%s", body)
	assert.Equal(t, "live", gcApp(t, cl, acc, app.ID).State)

	// Keys and referrer filters change what the application holds, not
	// what the client reads of it.
	code, body = formCall(t, co, http.MethodPost, base+"/keys.json", url.Values{"key": {"secret-key-1"}})
	require.Equal(t, http.StatusCreated, code, "%s", body)
	code, body = formCall(t, co, http.MethodPost, base+"/referrer_filters.json", url.Values{"referrer_filter": {"*.example.com"}})
	require.Equal(t, http.StatusCreated, code, "%s", body)
	listed := gcApp(t, cl, acc, app.ID)
	assert.Equal(t, "Reader", listed.AppName)
	assert.Equal(t, plan.ID, listed.PlanID)

	// Customizing moves the application onto a custom copy of its plan,
	// which the client reads as custom; decustomizing moves it back and
	// removes the copy.
	var customized client.ApplicationPlan
	decodeCall(t, co, http.MethodPut, base+"/customize_plan.json", nil, http.StatusOK, &customized)
	custom := customized.Element.ID
	require.NotEqual(t, plan.ID, custom)
	assert.Equal(t, custom, gcApp(t, cl, acc, app.ID).PlanID)
	read, err := cl.ApplicationPlan(product, custom)
	require.NoError(t, err)
	assert.True(t, read.Element.Custom)
	assert.Contains(t, read.Element.Name, "Reviewed")
	original, err := cl.ApplicationPlan(product, plan.ID)
	require.NoError(t, err)
	assert.False(t, original.Element.Custom)

	code, body = formCall(t, co, http.MethodPut, base+"/decustomize_plan.json", nil)
	require.Equal(t, http.StatusOK, code, "%s", body)
	assert.Equal(t, plan.ID, gcApp(t, cl, acc, app.ID).PlanID)
	_, err = cl.ApplicationPlan(product, custom)
	apiErr(t, err, http.StatusNotFound)
}
