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

// customize_plan gives an application its own copy of its plan, with the
// plan's limits, pricing rules and features; decustomize_plan puts it back
// on the original and deletes the copy, as 3scale's Contract#customize_plan!
// and #decustomize_plan! do.
func TestCustomizeAndDecustomizePlan(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	product := createProduct(t, cl, "Custom Plans API", nil)
	hits := productHits(t, cl, product)
	basic := createPlan(t, cl, product, client.Params{"name": "Basic", "state_event": "publish", "cost_per_month": "10",
		"setup_fee": "2", "approval_required": "false", "default": "true"})
	_, err := cl.CreateApplicationPlanLimit(basic.ID, hits, client.Params{"period": "day", "value": "1000"})
	require.NoError(t, err)
	_, err = cl.CreateApplicationPlanPricingRule(basic.ID, hits, client.Params{"min": "1", "max": "100", "cost_per_unit": "0.5"})
	require.NoError(t, err)
	var sla ftFeatureElem
	decodeCall(t, co, http.MethodPost, "/admin/api/services/"+s64(product)+"/features.json", url.Values{"name": {"SLA"}}, http.StatusCreated, &sla)
	decodeCall(t, co, http.MethodPost, "/admin/api/application_plans/"+s64(basic.ID)+"/features.json",
		url.Values{"feature_id": {s64(sla.Feature.ID)}}, http.StatusCreated, &ftFeatureElem{})

	acc := *acSignup(t, cl, "Acme", "alice").ID
	app, err := cl.CreateApp(s64(acc), s64(basic.ID), "Mobile", "")
	require.NoError(t, err)
	member := "/admin/api/accounts/" + s64(acc) + "/applications/" + s64(app.ID)

	// What the 3scale-api gem's customize_application_plan sends: a bare PUT.
	var customized client.ApplicationPlan
	decodeCall(t, co, http.MethodPut, member+"/customize_plan.json", nil, http.StatusOK, &customized)
	custom := customized.Element
	assert.NotEqual(t, basic.ID, custom.ID)
	assert.True(t, custom.Custom)
	assert.False(t, custom.Default, "the service's default stays the original")
	assert.Equal(t, "Basic (custom)", custom.Name)
	assert.Regexp(t, `^basic_custom_\d+$`, custom.SystemName)
	assert.Equal(t, "hidden", custom.State)
	assert.Equal(t, 10.0, custom.CostPerMonth)
	assert.Equal(t, 2.0, custom.SetupFee)

	var moved client.ApplicationElem
	decodeCall(t, co, http.MethodGet, member+".json", nil, http.StatusOK, &moved)
	assert.Equal(t, custom.ID, moved.Application.PlanID, "the application moves to its custom plan")
	limits, err := cl.ListApplicationPlansLimits(custom.ID)
	require.NoError(t, err)
	require.Len(t, limits.Limits, 1)
	assert.Equal(t, "day", limits.Limits[0].Element.Period)
	assert.Equal(t, 1000, limits.Limits[0].Element.Value)
	assert.Equal(t, hits, limits.Limits[0].Element.MetricID)
	rules, err := cl.ListApplicationPlansPricingRules(custom.ID)
	require.NoError(t, err)
	require.Len(t, rules.Rules, 1)
	assert.Equal(t, 100, rules.Rules[0].Element.Max)
	var features ftFeatureList
	decodeCall(t, co, http.MethodGet, "/admin/api/application_plans/"+s64(custom.ID)+"/features.json", nil, http.StatusOK, &features)
	assert.Equal(t, []string{"sla"}, features.systemNames())
	original, err := cl.ApplicationPlan(product, basic.ID)
	require.NoError(t, err)
	assert.True(t, original.Element.Default)
	assert.False(t, original.Element.Custom)

	// Customizing again keeps the custom plan; XML renders it as 3scale's
	// <plan custom="true">.
	var x struct {
		XMLName xml.Name `xml:"plan"`
		Custom  bool     `xml:"custom,attr"`
		Default bool     `xml:"default,attr"`
		ID      int64    `xml:"id"`
		Name    string   `xml:"name"`
	}
	decodeCall(t, co, http.MethodPut, member+"/customize_plan.xml", nil, http.StatusOK, &x)
	assert.Equal(t, custom.ID, x.ID)
	assert.True(t, x.Custom)
	assert.False(t, x.Default)

	// The original cannot go while its customization has an application.
	err = cl.DeleteApplicationPlan(product, basic.ID)
	apiErr(t, err, http.StatusUnprocessableEntity)

	var back client.ApplicationPlan
	decodeCall(t, co, http.MethodPut, member+"/decustomize_plan.json", nil, http.StatusOK, &back)
	assert.Equal(t, basic.ID, back.Element.ID)
	assert.False(t, back.Element.Custom)
	decodeCall(t, co, http.MethodGet, member+".json", nil, http.StatusOK, &moved)
	assert.Equal(t, basic.ID, moved.Application.PlanID)
	_, err = cl.ApplicationPlan(product, custom.ID)
	apiErr(t, err, http.StatusNotFound)
	limits, err = cl.ListApplicationPlansLimits(basic.ID)
	require.NoError(t, err)
	assert.Len(t, limits.Limits, 1, "the original keeps its own limits")

	// Decustomizing an application on a stock plan answers its plan.
	back = client.ApplicationPlan{}
	decodeCall(t, co, http.MethodPut, member+"/decustomize_plan.json", nil, http.StatusOK, &back)
	assert.Equal(t, basic.ID, back.Element.ID)

	// Another account's application, or none, is not found.
	other := *acSignup(t, cl, "Globex", "bob").ID
	for _, path := range []string{
		"/admin/api/accounts/" + s64(other) + "/applications/" + s64(app.ID) + "/customize_plan.json",
		"/admin/api/accounts/" + s64(acc) + "/applications/999999/customize_plan.json",
		"/admin/api/accounts/999999/applications/" + s64(app.ID) + "/decustomize_plan.json",
	} {
		status, body := formCall(t, co, http.MethodPut, path, nil)
		assert.Equal(t, http.StatusNotFound, status, "%s: %s", path, body)
	}
}
