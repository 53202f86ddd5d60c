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

// ssSub is a service subscription as 3scale's JSON renders it
// (ServiceSubscriptionRepresenter).
type ssSub struct {
	ID                    int64   `json:"id"`
	PlanID                int64   `json:"plan_id"`
	UserAccountID         int64   `json:"user_account_id"`
	CreatedAt             string  `json:"created_at"`
	UpdatedAt             string  `json:"updated_at"`
	State                 string  `json:"state"`
	PaidUntil             *string `json:"paid_until"`
	TrialPeriodExpiresAt  *string `json:"trial_period_expires_at"`
	SetupFee              float64 `json:"setup_fee"`
	Type                  string  `json:"type"`
	VariableCostPaidUntil *string `json:"variable_cost_paid_until"`
	TenantID              int64   `json:"tenant_id"`
	ServiceID             int64   `json:"service_id"`
	AcceptedAt            *string `json:"accepted_at"`
}

type ssSubElem struct {
	Sub ssSub `json:"service_subscription"`
}

type ssSubList struct {
	Subs []ssSubElem `json:"service_subscriptions"`
}

type ssSubXML struct {
	XMLName       xml.Name `xml:"service_subscription"`
	ID            int64    `xml:"id"`
	PlanID        int64    `xml:"plan_id"`
	UserAccountID int64    `xml:"user_account_id"`
	State         string   `xml:"state"`
	Type          string   `xml:"type"`
	ServiceID     int64    `xml:"service_id"`
}

func TestServiceSubscriptions(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	product := createProduct(t, cl, "Subscribed", nil)
	other := createProduct(t, cl, "Elsewhere", nil)
	open := spCreate(t, co, product, url.Values{"name": {"Open"}})
	gated := spCreate(t, co, product, url.Values{"name": {"Gated"}, "approval_required": {"true"}})
	foreign := spCreate(t, co, other, url.Values{"name": {"Foreign"}})
	acc := acSignup(t, cl, "Subscriber", "sub")
	base := "/admin/api/accounts/" + s64(*acc.ID) + "/service_subscriptions"

	// Create: live through a plan without approval.
	var created ssSubElem
	decodeCall(t, co, http.MethodPost, base+".json", url.Values{"plan_id": {s64(open.ID)}}, http.StatusCreated, &created)
	sub := created.Sub
	assert.NotZero(t, sub.ID)
	assert.Equal(t, open.ID, sub.PlanID)
	assert.Equal(t, *acc.ID, sub.UserAccountID)
	assert.Equal(t, product, sub.ServiceID)
	assert.Equal(t, "live", sub.State)
	assert.Equal(t, "ServiceContract", sub.Type)
	assert.Nil(t, sub.PaidUntil)
	require.NotNil(t, sub.AcceptedAt)
	recentTime(t, sub.CreatedAt)

	status, body := formCall(t, co, http.MethodPost, base+".json", url.Values{"plan_id": {s64(gated.ID)}})
	assert.Contains(t, fieldErrors(t, status, body)["base"], "already subscribed to this service")
	status, _ = formCall(t, co, http.MethodPost, base+".json", url.Values{"plan_id": {"999999"}})
	assert.Equal(t, http.StatusNotFound, status)
	status, _ = formCall(t, co, http.MethodPost, "/admin/api/accounts/999999/service_subscriptions.json", url.Values{"plan_id": {s64(open.ID)}})
	assert.Equal(t, http.StatusNotFound, status)

	// Read and list, JSON and XML.
	var read ssSubElem
	decodeCall(t, co, http.MethodGet, base+"/"+s64(sub.ID)+".json", nil, http.StatusOK, &read)
	assert.Equal(t, sub, read.Sub)
	var x ssSubXML
	decodeCall(t, co, http.MethodGet, base+"/"+s64(sub.ID)+".xml", nil, http.StatusOK, &x)
	assert.Equal(t, ssSubXML{XMLName: xml.Name{Local: "service_subscription"}, ID: sub.ID, PlanID: open.ID,
		UserAccountID: *acc.ID, State: "live", Type: "ServiceContract", ServiceID: product}, x)
	var list ssSubList
	decodeCall(t, co, http.MethodGet, base+".json", nil, http.StatusOK, &list)
	require.Len(t, list.Subs, 1)
	assert.Equal(t, sub, list.Subs[0].Sub)
	var xl struct {
		XMLName xml.Name   `xml:"service_subscriptions"`
		Subs    []ssSubXML `xml:"service_subscription"`
	}
	decodeCall(t, co, http.MethodGet, base+".xml", nil, http.StatusOK, &xl)
	assert.Len(t, xl.Subs, 1)

	// Change plan (update): within the service only; the answer is the plan.
	var plan spPlanElem
	decodeCall(t, co, http.MethodPut, base+"/"+s64(sub.ID)+"/change_plan.json", url.Values{"plan_id": {s64(gated.ID)}}, http.StatusOK, &plan)
	assert.Equal(t, gated.ID, plan.ServicePlan.ID)
	decodeCall(t, co, http.MethodGet, base+"/"+s64(sub.ID)+".json", nil, http.StatusOK, &read)
	assert.Equal(t, gated.ID, read.Sub.PlanID)
	status, body = formCall(t, co, http.MethodPut, base+"/"+s64(sub.ID)+"/change_plan.json", url.Values{"plan_id": {s64(foreign.ID)}})
	assert.Contains(t, fieldErrors(t, status, body), "plan")
	status, _ = formCall(t, co, http.MethodPut, base+"/"+s64(sub.ID)+"/change_plan.json", url.Values{"plan_id": {"999999"}})
	assert.Equal(t, http.StatusNotFound, status)

	// A plan with subscriptions cannot be deleted.
	status, body = formCall(t, co, http.MethodDelete, "/admin/api/services/"+s64(product)+"/service_plans/"+s64(gated.ID)+".json", nil)
	assert.Contains(t, fieldErrors(t, status, body)["base"], "cannot be deleted because it has subscriptions")

	// Unsubscribe (delete): refused while the account has live applications
	// of the service; its suspended ones go with the subscription.
	appPlan := createPlan(t, cl, product, client.Params{"name": "App plan"})
	app, err := cl.CreateApp(s64(*acc.ID), s64(appPlan.ID), "Sub app", "")
	require.NoError(t, err)
	status, body = formCall(t, co, http.MethodDelete, base+"/"+s64(sub.ID)+".json", nil)
	assert.NotEmpty(t, fieldErrors(t, status, body)["base"])
	appPath := "/admin/api/accounts/" + s64(*acc.ID) + "/applications/" + s64(app.ID)
	status, body = formCall(t, co, http.MethodPut, appPath+"/suspend.json", nil)
	require.Equal(t, http.StatusOK, status, "%s", body)
	status, body = formCall(t, co, http.MethodDelete, base+"/"+s64(sub.ID)+".json", nil)
	require.Equal(t, http.StatusOK, status, "%s", body)
	status, _ = formCall(t, co, http.MethodGet, base+"/"+s64(sub.ID)+".json", nil)
	assert.Equal(t, http.StatusNotFound, status)
	status, _ = formCall(t, co, http.MethodGet, appPath+".json", nil)
	assert.Equal(t, http.StatusNotFound, status, "the suspended application went with the subscription")

	// Approve: a subscription through a plan that requires approval starts
	// pending; approving it twice is refused.
	decodeCall(t, co, http.MethodPost, base+".xml", url.Values{"plan_id": {s64(gated.ID)}}, http.StatusCreated, &x)
	assert.Equal(t, "pending", x.State)
	decodeCall(t, co, http.MethodGet, base+"/"+s64(x.ID)+".json", nil, http.StatusOK, &read)
	assert.Nil(t, read.Sub.AcceptedAt)
	var approved ssSubElem
	decodeCall(t, co, http.MethodPut, base+"/"+s64(x.ID)+"/approve.json", nil, http.StatusOK, &approved)
	assert.Equal(t, "live", approved.Sub.State)
	assert.NotNil(t, approved.Sub.AcceptedAt)
	status, _ = formCall(t, co, http.MethodPut, base+"/"+s64(x.ID)+"/approve.json", nil)
	assert.Equal(t, http.StatusUnprocessableEntity, status)

	// Another account's subscription is not found under this one; deleting
	// the account takes its subscriptions.
	acc2 := acSignup(t, cl, "Other subscriber", "sub2")
	status, _ = formCall(t, co, http.MethodGet, "/admin/api/accounts/"+s64(*acc2.ID)+"/service_subscriptions/"+s64(x.ID)+".json", nil)
	assert.Equal(t, http.StatusNotFound, status)
	status, body = formCall(t, co, http.MethodDelete, "/admin/api/accounts/"+s64(*acc.ID)+".json", nil)
	require.Equal(t, http.StatusOK, status, "%s", body)
	status, body = formCall(t, co, http.MethodDelete, "/admin/api/services/"+s64(product)+"/service_plans/"+s64(gated.ID)+".json", nil)
	assert.Equal(t, http.StatusOK, status, "no subscriptions left: %s", body)
}

// TestDeprecatedServiceContracts covers 3scale's deprecated names for the
// subscription list and delete: the same subscriptions as service_contract
// elements.
func TestDeprecatedServiceContracts(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	product := createProduct(t, cl, "Contracted", nil)
	plan := spCreate(t, co, product, url.Values{"name": {"Contract plan"}})
	acc := acSignup(t, cl, "Contractor", "contractor")
	account := "/admin/api/accounts/" + s64(*acc.ID)

	var created ssSubElem
	decodeCall(t, co, http.MethodPost, account+"/service_subscriptions.json", url.Values{"plan_id": {s64(plan.ID)}}, http.StatusCreated, &created)

	var xl struct {
		XMLName   xml.Name `xml:"service_contracts"`
		Contracts []struct {
			ID        int64  `xml:"id"`
			PlanID    int64  `xml:"plan_id"`
			State     string `xml:"state"`
			ServiceID int64  `xml:"service_id"`
		} `xml:"service_contract"`
	}
	decodeCall(t, co, http.MethodGet, account+"/service_contracts.xml", nil, http.StatusOK, &xl)
	require.Len(t, xl.Contracts, 1)
	assert.Equal(t, created.Sub.ID, xl.Contracts[0].ID)
	assert.Equal(t, plan.ID, xl.Contracts[0].PlanID)
	assert.Equal(t, "live", xl.Contracts[0].State)
	assert.Equal(t, product, xl.Contracts[0].ServiceID)
	var jl struct {
		Contracts []struct {
			Contract ssSub `json:"service_contract"`
		} `json:"service_contracts"`
	}
	decodeCall(t, co, http.MethodGet, account+"/service_contracts.json", nil, http.StatusOK, &jl)
	require.Len(t, jl.Contracts, 1)
	assert.Equal(t, created.Sub, jl.Contracts[0].Contract)

	status, body := formCall(t, co, http.MethodDelete, account+"/service_contracts/"+s64(created.Sub.ID)+".xml", nil)
	require.Equal(t, http.StatusOK, status, "%s", body)
	xl.Contracts = nil // xml.Unmarshal appends
	decodeCall(t, co, http.MethodGet, account+"/service_contracts.xml", nil, http.StatusOK, &xl)
	assert.Empty(t, xl.Contracts)
	status, _ = formCall(t, co, http.MethodDelete, account+"/service_contracts/"+s64(created.Sub.ID)+".xml", nil)
	assert.Equal(t, http.StatusNotFound, status)
}
