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

// spPlan is a service plan as 3scale's JSON renders it (ServicePlanRepresenter).
type spPlan struct {
	ID                 int64   `json:"id"`
	ServiceID          int64   `json:"service_id"`
	Name               string  `json:"name"`
	SystemName         string  `json:"system_name"`
	State              string  `json:"state"`
	Default            bool    `json:"default"`
	ApprovalRequired   bool    `json:"approval_required"`
	SetupFee           float64 `json:"setup_fee"`
	CostPerMonth       float64 `json:"cost_per_month"`
	TrialPeriodDays    int64   `json:"trial_period_days"`
	CancellationPeriod int64   `json:"cancellation_period"`
	CreatedAt          string  `json:"created_at"`
	UpdatedAt          string  `json:"updated_at"`
}

type spPlanElem struct {
	ServicePlan spPlan `json:"service_plan"`
}

type spPlanList struct {
	Plans []spPlanElem `json:"plans"`
}

func (l spPlanList) ids() []int64 {
	out := []int64{}
	for _, p := range l.Plans {
		out = append(out, p.ServicePlan.ID)
	}
	return out
}

// spPlanXML is a service plan as 3scale's XML renders it (Plan#to_xml).
type spPlanXML struct {
	XMLName          xml.Name `xml:"plan"`
	Custom           bool     `xml:"custom,attr"`
	Default          bool     `xml:"default,attr"`
	ID               int64    `xml:"id"`
	Name             string   `xml:"name"`
	Type             string   `xml:"type"`
	State            string   `xml:"state"`
	ServiceID        int64    `xml:"service_id"`
	ApprovalRequired bool     `xml:"approval_required"`
}

// spCreate creates a service plan through the API.
func spCreate(t *testing.T, co *testenv.Coordinator, service int64, form url.Values) spPlan {
	t.Helper()
	var out spPlanElem
	decodeCall(t, co, http.MethodPost, "/admin/api/services/"+s64(service)+"/service_plans.json", form, http.StatusCreated, &out)
	require.NotZero(t, out.ServicePlan.ID)
	return out.ServicePlan
}

func TestServicePlans(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	product := createProduct(t, cl, "Service plans", nil)
	other := createProduct(t, cl, "Other product", nil)
	base := "/admin/api/services/" + s64(product) + "/service_plans"

	// Create: name, approval_required, system_name and state_event; the
	// billing fields are not among what 3scale permits.
	premium := spCreate(t, co, product, url.Values{"name": {"Premium Plus"}, "approval_required": {"true"},
		"state_event": {"publish"}, "setup_fee": {"5"}})
	assert.Equal(t, "premium_plus", premium.SystemName)
	assert.Equal(t, product, premium.ServiceID)
	assert.Equal(t, "published", premium.State)
	assert.True(t, premium.ApprovalRequired)
	assert.Zero(t, premium.SetupFee)
	assert.False(t, premium.Default)
	recentTime(t, premium.CreatedAt)
	basic := spCreate(t, co, product, url.Values{"name": {"Basic"}, "system_name": {"basic_sp"}})
	assert.Equal(t, "basic_sp", basic.SystemName)
	assert.Equal(t, "hidden", basic.State)
	elsewhere := spCreate(t, co, other, url.Values{"name": {"Basic"}})

	status, body := formCall(t, co, http.MethodPost, base+".json", url.Values{"name": {"Again"}, "system_name": {"basic_sp"}})
	assert.Equal(t, []string{"has already been taken"}, fieldErrors(t, status, body)["system_name"])
	status, body = formCall(t, co, http.MethodPost, base+".json", url.Values{"name": {""}})
	assert.Contains(t, fieldErrors(t, status, body), "name")
	status, _ = formCall(t, co, http.MethodPost, base+".json", url.Values{"name": {"X"}, "state_event": {"bogus"}})
	assert.Equal(t, http.StatusUnprocessableEntity, status)
	status, _ = formCall(t, co, http.MethodPost, "/admin/api/services/999999/service_plans.json", url.Values{"name": {"X"}})
	assert.Equal(t, http.StatusNotFound, status)

	// List, per service and for all services, in JSON and XML.
	var list spPlanList
	decodeCall(t, co, http.MethodGet, base+".json", nil, http.StatusOK, &list)
	assert.Equal(t, []int64{premium.ID, basic.ID}, list.ids())
	decodeCall(t, co, http.MethodGet, "/admin/api/service_plans.json", nil, http.StatusOK, &list)
	assert.Equal(t, []int64{premium.ID, basic.ID, elsewhere.ID}, list.ids())
	var xl struct {
		XMLName xml.Name    `xml:"plans"`
		Plans   []spPlanXML `xml:"plan"`
	}
	decodeCall(t, co, http.MethodGet, "/admin/api/service_plans.xml", nil, http.StatusOK, &xl)
	require.Len(t, xl.Plans, 3)
	assert.Equal(t, "service_plan", xl.Plans[0].Type)

	// Read.
	var read spPlanElem
	decodeCall(t, co, http.MethodGet, base+"/"+s64(premium.ID)+".json", nil, http.StatusOK, &read)
	assert.Equal(t, premium, read.ServicePlan)
	var x spPlanXML
	decodeCall(t, co, http.MethodGet, base+"/"+s64(premium.ID)+".xml", nil, http.StatusOK, &x)
	assert.Equal(t, spPlanXML{XMLName: xml.Name{Local: "plan"}, ID: premium.ID, Name: "Premium Plus", Type: "service_plan",
		State: "published", ServiceID: product, ApprovalRequired: true}, x)
	status, _ = formCall(t, co, http.MethodGet, "/admin/api/services/"+s64(other)+"/service_plans/"+s64(premium.ID)+".json", nil)
	assert.Equal(t, http.StatusNotFound, status, "a plan of another service is not found")

	// Update: name, approval_required, state_event; system_name stays.
	var updated spPlanElem
	decodeCall(t, co, http.MethodPut, base+"/"+s64(premium.ID)+".json", url.Values{"name": {"Gold"}, "approval_required": {"false"},
		"state_event": {"hide"}, "system_name": {"renamed"}}, http.StatusOK, &updated)
	assert.Equal(t, "Gold", updated.ServicePlan.Name)
	assert.Equal(t, "hidden", updated.ServicePlan.State)
	assert.False(t, updated.ServicePlan.ApprovalRequired)
	assert.Equal(t, "premium_plus", updated.ServicePlan.SystemName)

	// Set to default: one default plan per service.
	var def spPlanElem
	decodeCall(t, co, http.MethodPut, base+"/"+s64(basic.ID)+"/default.json", nil, http.StatusOK, &def)
	assert.True(t, def.ServicePlan.Default)
	decodeCall(t, co, http.MethodPut, base+"/"+s64(premium.ID)+"/default.xml", nil, http.StatusOK, &x)
	assert.True(t, x.Default)
	decodeCall(t, co, http.MethodGet, base+"/"+s64(basic.ID)+".json", nil, http.StatusOK, &read)
	assert.False(t, read.ServicePlan.Default, "the previous default is plain again")

	// Delete.
	status, body = formCall(t, co, http.MethodDelete, base+"/"+s64(basic.ID)+".json", nil)
	require.Equal(t, http.StatusOK, status, "%s", body)
	status, _ = formCall(t, co, http.MethodGet, base+"/"+s64(basic.ID)+".json", nil)
	assert.Equal(t, http.StatusNotFound, status)
	status, _ = formCall(t, co, http.MethodDelete, base+"/"+s64(basic.ID)+".json", nil)
	assert.Equal(t, http.StatusNotFound, status)

	// Deleting the service takes its service plans.
	require.NoError(t, cl.DeleteProduct(other))
	decodeCall(t, co, http.MethodGet, "/admin/api/service_plans.json", nil, http.StatusOK, &list)
	assert.Equal(t, []int64{premium.ID}, list.ids())
}

func TestServicePlanFeatures(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	product := createProduct(t, cl, "Featured", nil)
	plan := spCreate(t, co, product, url.Values{"name": {"Portal"}})
	appPlan := createPlan(t, cl, product, client.Params{"name": "App plan"})
	features := "/admin/api/services/" + s64(product) + "/features.json"
	var portal, sla ftFeatureElem
	decodeCall(t, co, http.MethodPost, features, url.Values{"name": {"Portal"}, "scope": {"ServicePlan"}}, http.StatusCreated, &portal)
	decodeCall(t, co, http.MethodPost, features, url.Values{"name": {"SLA"}}, http.StatusCreated, &sla)
	base := "/admin/api/service_plans/" + s64(plan.ID) + "/features"

	// Enable (create) and list (read).
	var enabled ftFeatureElem
	decodeCall(t, co, http.MethodPost, base+".json", url.Values{"feature_id": {s64(portal.Feature.ID)}}, http.StatusCreated, &enabled)
	assert.Equal(t, portal.Feature.ID, enabled.Feature.ID)
	assert.Equal(t, "service_plan", enabled.Feature.Scope)
	var list ftFeatureList
	decodeCall(t, co, http.MethodGet, base+".json", nil, http.StatusOK, &list)
	assert.Equal(t, []string{"portal"}, list.systemNames())
	var xl struct {
		Features []ftFeatureXML `xml:"feature"`
	}
	decodeCall(t, co, http.MethodGet, base+".xml", nil, http.StatusOK, &xl)
	require.Len(t, xl.Features, 1)
	assert.Equal(t, "service_plan", xl.Features[0].Scope)

	// An application plan feature does not fit a service plan, nor the
	// reverse; twice is taken; a missing feature or plan is not found.
	status, body := formCall(t, co, http.MethodPost, base+".json", url.Values{"feature_id": {s64(sla.Feature.ID)}})
	assert.Equal(t, []string{"mismatch"}, fieldErrors(t, status, body)["plan_type"])
	status, body = formCall(t, co, http.MethodPost, "/admin/api/application_plans/"+s64(appPlan.ID)+"/features.json",
		url.Values{"feature_id": {s64(portal.Feature.ID)}})
	assert.Equal(t, []string{"mismatch"}, fieldErrors(t, status, body)["plan_type"])
	status, _ = formCall(t, co, http.MethodPost, base+".json", url.Values{"feature_id": {s64(portal.Feature.ID)}})
	assert.Equal(t, http.StatusUnprocessableEntity, status)
	status, _ = formCall(t, co, http.MethodPost, base+".json", url.Values{"feature_id": {"999999"}})
	assert.Equal(t, http.StatusNotFound, status)
	status, _ = formCall(t, co, http.MethodGet, "/admin/api/service_plans/999999/features.json", nil)
	assert.Equal(t, http.StatusNotFound, status)

	// Disable (delete).
	status, body = formCall(t, co, http.MethodDelete, base+"/"+s64(portal.Feature.ID)+".json", nil)
	require.Equal(t, http.StatusOK, status, "%s", body)
	decodeCall(t, co, http.MethodGet, base+".json", nil, http.StatusOK, &list)
	assert.Empty(t, list.Features)
	status, _ = formCall(t, co, http.MethodDelete, base+"/"+s64(portal.Feature.ID)+".json", nil)
	assert.Equal(t, http.StatusNotFound, status)

	// Deleting a plan disables its features; the feature stays.
	decodeCall(t, co, http.MethodPost, base+".xml", url.Values{"feature_id": {s64(portal.Feature.ID)}}, http.StatusCreated, &xl.Features[0])
	status, _ = formCall(t, co, http.MethodDelete, "/admin/api/services/"+s64(product)+"/service_plans/"+s64(plan.ID)+".json", nil)
	require.Equal(t, http.StatusOK, status)
	status, _ = formCall(t, co, http.MethodGet, "/admin/api/services/"+s64(product)+"/features/"+s64(portal.Feature.ID)+".json", nil)
	assert.Equal(t, http.StatusOK, status)
}
