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

func TestPlansJSON(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	product := createProduct(t, cl, "Plans API", nil)

	created, err := cl.CreateApplicationPlan(product, client.Params{
		"name": "Basic", "system_name": "basic_plan", "state_event": "publish", "approval_required": "true",
		"setup_fee": "1.5", "cost_per_month": "10", "trial_period_days": "7", "cancellation_period": "3",
	})
	require.NoError(t, err)
	basic := created.Element
	assert.NotZero(t, basic.ID)
	assert.Equal(t, "Basic", basic.Name)
	assert.Equal(t, "basic_plan", basic.SystemName)
	assert.Equal(t, "published", basic.State)
	assert.True(t, basic.ApprovalRequired)
	assert.Equal(t, 1.5, basic.SetupFee)
	assert.Equal(t, 10.0, basic.CostPerMonth)
	assert.Equal(t, 7, basic.TrialPeriodDays)
	assert.Equal(t, 3, basic.CancellationPeriod)
	assert.False(t, basic.Default)
	assert.False(t, basic.Custom)
	recentTime(t, basic.CreatedAt)
	recentTime(t, basic.UpdatedAt)

	read, err := cl.ApplicationPlan(product, basic.ID)
	require.NoError(t, err)
	assert.Equal(t, basic, read.Element)

	// A plan starts hidden and its system_name comes from its name.
	gold := createPlan(t, cl, product, client.Params{"name": "Gold Plan", "default": "true"})
	assert.Equal(t, "Gold Plan", gold.Name)
	assert.Equal(t, "gold_plan", gold.SystemName)
	assert.Equal(t, "hidden", gold.State)
	assert.True(t, gold.Default)
	assert.False(t, gold.ApprovalRequired)
	assert.Equal(t, 0.0, gold.SetupFee)
	assert.Equal(t, 0, gold.TrialPeriodDays)

	updated, err := cl.UpdateApplicationPlan(product, basic.ID, client.Params{
		"name": "Basic 2", "state_event": "hide", "cost_per_month": "20.25", "approval_required": "false", "default": "true",
	})
	require.NoError(t, err)
	u := updated.Element
	assert.Equal(t, basic.ID, u.ID)
	assert.Equal(t, "Basic 2", u.Name)
	assert.Equal(t, "basic_plan", u.SystemName, "system_name never changes")
	assert.Equal(t, "hidden", u.State)
	assert.Equal(t, 20.25, u.CostPerMonth)
	assert.Equal(t, 1.5, u.SetupFee)
	assert.False(t, u.ApprovalRequired)
	assert.True(t, u.Default)
	assert.Equal(t, basic.CreatedAt, u.CreatedAt)
	read, err = cl.ApplicationPlan(product, basic.ID)
	require.NoError(t, err)
	assert.Equal(t, u, read.Element)

	// One default plan per service: Gold is no longer it.
	read, err = cl.ApplicationPlan(product, gold.ID)
	require.NoError(t, err)
	assert.False(t, read.Element.Default)
	assert.Equal(t, "Gold Plan", read.Element.Name)

	list, err := cl.ListApplicationPlansByProduct(product)
	require.NoError(t, err)
	require.Len(t, list.Plans, 2)
	assert.Equal(t, u, list.Plans[0].Element)
	assert.Equal(t, gold.ID, list.Plans[1].Element.ID)
	assert.Equal(t, "gold_plan", list.Plans[1].Element.SystemName)
	assert.False(t, list.Plans[1].Element.Default)

	// Another product's plans are not listed here, nor readable through it.
	other := createProduct(t, cl, "Other API", nil)
	otherPlan := createPlan(t, cl, other, client.Params{"name": "Other"})
	list, err = cl.ListApplicationPlansByProduct(other)
	require.NoError(t, err)
	require.Len(t, list.Plans, 1)
	assert.Equal(t, otherPlan, list.Plans[0].Element)
	_, err = cl.ApplicationPlan(product, otherPlan.ID)
	apiErr(t, err, http.StatusNotFound)

	require.NoError(t, cl.DeleteApplicationPlan(product, gold.ID))
	_, err = cl.ApplicationPlan(product, gold.ID)
	apiErr(t, err, http.StatusNotFound)
	list, err = cl.ListApplicationPlansByProduct(product)
	require.NoError(t, err)
	require.Len(t, list.Plans, 1)
	assert.Equal(t, basic.ID, list.Plans[0].Element.ID)
}

func TestPlansBadInput(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	product := createProduct(t, cl, "Plans API", nil)
	plan := createPlan(t, cl, product, client.Params{"name": "Basic"})

	_, err := cl.CreateApplicationPlan(product, client.Params{"system_name": "nameless"})
	apiErr(t, err, http.StatusUnprocessableEntity, `"name":["can't be blank"]`)
	_, err = cl.CreateApplicationPlan(product, client.Params{"name": "Basic"})
	apiErr(t, err, http.StatusUnprocessableEntity, `"system_name":["has already been taken"]`)
	_, err = cl.CreateApplicationPlan(product, client.Params{"name": "X", "state_event": "retire"})
	apiErr(t, err, http.StatusUnprocessableEntity, `"state_event"`)
	_, err = cl.CreateApplicationPlan(product, client.Params{"name": "X", "setup_fee": "cheap"})
	apiErr(t, err, http.StatusUnprocessableEntity, `"setup_fee"`)
	_, err = cl.CreateApplicationPlan(product, client.Params{"name": "X", "cost_per_month": "-1"})
	apiErr(t, err, http.StatusUnprocessableEntity, `"cost_per_month"`)
	_, err = cl.CreateApplicationPlan(product, client.Params{"name": "X", "default": "maybe"})
	apiErr(t, err, http.StatusUnprocessableEntity, `"default"`)
	_, err = cl.UpdateApplicationPlan(product, plan.ID, client.Params{"name": ""})
	apiErr(t, err, http.StatusUnprocessableEntity, `"name":["can't be blank"]`)

	_, err = cl.CreateApplicationPlan(999999, client.Params{"name": "X"})
	apiErr(t, err, http.StatusNotFound)
	_, err = cl.ListApplicationPlansByProduct(999999)
	apiErr(t, err, http.StatusNotFound)
	_, err = cl.ApplicationPlan(product, 999999)
	apiErr(t, err, http.StatusNotFound)
	_, err = cl.UpdateApplicationPlan(product, 999999, client.Params{"name": "X"})
	apiErr(t, err, http.StatusNotFound)
	apiErr(t, cl.DeleteApplicationPlan(product, 999999), http.StatusNotFound)

	// Nothing of the refused writes was stored.
	list, err := cl.ListApplicationPlansByProduct(product)
	require.NoError(t, err)
	require.Len(t, list.Plans, 1)
	assert.Equal(t, plan, list.Plans[0].Element)

	// A plan with applications cannot be deleted.
	acc, err := cl.Signup(client.Params{"org_name": "Buyer", "username": "buyer", "email": "buyer@example.com", "password": "secret"})
	require.NoError(t, err)
	_, err = cl.CreateApp(s64(*acc.Element.ID), s64(plan.ID), "App", "uses the plan")
	require.NoError(t, err)
	err = cl.DeleteApplicationPlan(product, plan.ID)
	apiErr(t, err, http.StatusUnprocessableEntity, "applications")
	_, err = cl.ApplicationPlan(product, plan.ID)
	require.NoError(t, err)
}

func TestPlansLegacyXML(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	product := createProduct(t, cl, "Legacy API", nil)
	sid := s64(product)

	p, err := cl.CreateAppPlan(sid, "Legacy", "publish")
	require.NoError(t, err)
	assert.NotEmpty(t, p.ID)
	assert.Equal(t, "Legacy", p.PlanName)
	assert.Equal(t, "application_plan", p.Type)
	assert.Equal(t, "published", p.State)
	assert.Equal(t, sid, p.ServiceID)
	assert.Equal(t, "false", p.Custom)
	assert.False(t, p.Default)
	assert.Equal(t, "false", p.EndUserRequired)
	assert.Equal(t, "false", p.ApprovalRequired)
	assert.Equal(t, "0.0", p.SetupFee)
	assert.Equal(t, "0.0", p.CostPerMonth)
	assert.Equal(t, "0", p.TrialPeriodDays)
	assert.Equal(t, "0", p.CancellationPeriod)

	hidden, err := cl.CreateAppPlan(sid, "Hidden", "")
	require.NoError(t, err)
	assert.Equal(t, "hidden", hidden.State)

	up, err := cl.UpdateAppPlan(sid, p.ID, "Legacy 2", "hide", client.Params{"cost_per_month": "5", "setup_fee": "2.5", "approval_required": "true"})
	require.NoError(t, err)
	assert.Equal(t, p.ID, up.ID)
	assert.Equal(t, "Legacy 2", up.PlanName)
	assert.Equal(t, "hidden", up.State)
	assert.Equal(t, "5.0", up.CostPerMonth)
	assert.Equal(t, "2.5", up.SetupFee)
	assert.Equal(t, "true", up.ApprovalRequired)
	assert.Equal(t, "false", up.Custom)
	assert.False(t, up.Default)

	def, err := cl.SetDefaultPlan(sid, p.ID)
	require.NoError(t, err)
	assert.Equal(t, p.ID, def.ID)
	assert.True(t, def.Default)
	assert.Equal(t, "Legacy 2", def.PlanName)
	def, err = cl.SetDefaultPlan(sid, hidden.ID)
	require.NoError(t, err)
	assert.True(t, def.Default)

	plans, err := cl.ListAppPlanByServiceId(sid)
	require.NoError(t, err)
	require.Len(t, plans.Plans, 2)
	got := plans.Plans[0]
	assert.Equal(t, p.ID, got.ID)
	assert.Equal(t, "Legacy 2", got.PlanName)
	assert.Equal(t, "5.0", got.CostPerMonth)
	assert.Equal(t, "application_plan", got.Type)
	assert.Equal(t, sid, got.ServiceID)
	assert.False(t, got.Default, "setting another default unsets this one")
	assert.Equal(t, "false", got.Custom)
	assert.Equal(t, hidden.ID, plans.Plans[1].ID)
	assert.True(t, plans.Plans[1].Default)

	// All plans of all services.
	other := createProduct(t, cl, "Other API", nil)
	otherPlan, err := cl.CreateAppPlan(s64(other), "Other", "publish")
	require.NoError(t, err)
	all, err := cl.ListAppPlan()
	require.NoError(t, err)
	require.Len(t, all.Plans, 3)
	assert.Equal(t, []string{p.ID, hidden.ID, otherPlan.ID}, []string{all.Plans[0].ID, all.Plans[1].ID, all.Plans[2].ID})
	assert.Equal(t, s64(other), all.Plans[2].ServiceID)
	assert.Equal(t, "Other", all.Plans[2].PlanName)

	require.NoError(t, cl.DeleteAppPlan(sid, hidden.ID))
	plans, err = cl.ListAppPlanByServiceId(sid)
	require.NoError(t, err)
	require.Len(t, plans.Plans, 1)
	assert.Equal(t, p.ID, plans.Plans[0].ID)

	// Errors: the XML body names the field, the client keeps the code.
	_, err = cl.CreateAppPlan(sid, "", "")
	apiErr(t, err, http.StatusUnprocessableEntity)
	code, body := formCall(t, co, http.MethodPost, "/admin/api/services/"+sid+"/application_plans.xml", url.Values{"state_event": {"publish"}})
	assert.Equal(t, http.StatusUnprocessableEntity, code)
	assert.Contains(t, string(body), "<error>Name can't be blank</error>")
	_, err = cl.ListAppPlanByServiceId("999999")
	apiErr(t, err, http.StatusNotFound, "Not found")
	_, err = cl.SetDefaultPlan(sid, "999999")
	apiErr(t, err, http.StatusNotFound)
	apiErr(t, cl.DeleteAppPlan(sid, otherPlan.ID), http.StatusNotFound)
}

func TestLimitsJSON(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	product := createProduct(t, cl, "Limits API", nil)
	hits := productHits(t, cl, product)
	plan := createPlan(t, cl, product, client.Params{"name": "Basic"})

	// A metric of a backend the product uses can be limited too.
	backend, err := cl.CreateBackendApi(client.Params{"name": "Inventory", "private_endpoint": "http://inventory.internal:8080"})
	require.NoError(t, err)
	backendHits := int64(0)
	bm, err := cl.ListBackendapiMetrics(backend.Element.ID)
	require.NoError(t, err)
	for _, m := range bm.Metrics {
		if m.Element.SystemName == "hits" {
			backendHits = m.Element.ID
		}
	}
	require.NotZero(t, backendHits)
	_, err = cl.CreateBackendapiUsage(product, client.Params{"backend_api_id": s64(backend.Element.ID), "path": "/inventory"})
	require.NoError(t, err)

	created, err := cl.CreateApplicationPlanLimit(plan.ID, hits, client.Params{"period": "minute", "value": "10"})
	require.NoError(t, err)
	l := created.Element
	assert.NotZero(t, l.ID)
	assert.Equal(t, "minute", l.Period)
	assert.Equal(t, 10, l.Value)
	assert.Equal(t, hits, l.MetricID)
	assert.Equal(t, plan.ID, l.PlanID)
	recentTime(t, l.CreatedAt)
	recentTime(t, l.UpdatedAt)

	read, err := cl.ApplicationPlanLimit(plan.ID, hits, l.ID)
	require.NoError(t, err)
	assert.Equal(t, l, read.Element)

	updated, err := cl.UpdateApplicationPlanLimit(plan.ID, hits, l.ID, client.Params{"period": "hour", "value": "100"})
	require.NoError(t, err)
	u := updated.Element
	assert.Equal(t, l.ID, u.ID)
	assert.Equal(t, "hour", u.Period)
	assert.Equal(t, 100, u.Value)
	assert.Equal(t, hits, u.MetricID)
	assert.Equal(t, plan.ID, u.PlanID)
	assert.Equal(t, l.CreatedAt, u.CreatedAt)
	read, err = cl.ApplicationPlanLimit(plan.ID, hits, l.ID)
	require.NoError(t, err)
	assert.Equal(t, u, read.Element)

	onBackend, err := cl.CreateApplicationPlanLimit(plan.ID, backendHits, client.Params{"period": "day", "value": "0"})
	require.NoError(t, err)
	assert.Equal(t, backendHits, onBackend.Element.MetricID)
	assert.Equal(t, "day", onBackend.Element.Period)
	assert.Equal(t, 0, onBackend.Element.Value)

	list, err := cl.ListApplicationPlansLimits(plan.ID)
	require.NoError(t, err)
	require.Len(t, list.Limits, 2)
	assert.Equal(t, u, list.Limits[0].Element)
	assert.Equal(t, onBackend.Element, list.Limits[1].Element)

	// The per-metric list has no client method.
	var perMetric client.ApplicationPlanLimitList
	decodeCall(t, co, http.MethodGet, "/admin/api/application_plans/"+s64(plan.ID)+"/metrics/"+s64(backendHits)+"/limits.json", nil, http.StatusOK, &perMetric)
	require.Len(t, perMetric.Limits, 1)
	assert.Equal(t, onBackend.Element, perMetric.Limits[0].Element)

	require.NoError(t, cl.DeleteApplicationPlanLimit(plan.ID, backendHits, onBackend.Element.ID))
	_, err = cl.ApplicationPlanLimit(plan.ID, backendHits, onBackend.Element.ID)
	apiErr(t, err, http.StatusNotFound)
	list, err = cl.ListApplicationPlansLimits(plan.ID)
	require.NoError(t, err)
	require.Len(t, list.Limits, 1)
	assert.Equal(t, u, list.Limits[0].Element)

	// Bad input.
	_, err = cl.CreateApplicationPlanLimit(plan.ID, hits, client.Params{"period": "fortnight", "value": "1"})
	apiErr(t, err, http.StatusUnprocessableEntity, `"period"`)
	_, err = cl.CreateApplicationPlanLimit(plan.ID, hits, client.Params{"period": "day", "value": "abc"})
	apiErr(t, err, http.StatusUnprocessableEntity, `"value":["is not a number"]`)
	_, err = cl.CreateApplicationPlanLimit(plan.ID, hits, client.Params{"period": "day"})
	apiErr(t, err, http.StatusUnprocessableEntity, `"value":["can't be blank"]`)
	_, err = cl.CreateApplicationPlanLimit(plan.ID, hits, client.Params{"period": "day", "value": "-5"})
	apiErr(t, err, http.StatusUnprocessableEntity, `"value"`)
	_, err = cl.CreateApplicationPlanLimit(plan.ID, hits, client.Params{"period": "hour", "value": "5"})
	apiErr(t, err, http.StatusUnprocessableEntity, `"period":["has already been taken"]`)
	_, err = cl.UpdateApplicationPlanLimit(plan.ID, hits, u.ID, client.Params{"value": "1.5"})
	apiErr(t, err, http.StatusUnprocessableEntity, `"value"`)

	_, err = cl.ListApplicationPlansLimits(999999)
	apiErr(t, err, http.StatusNotFound)
	_, err = cl.CreateApplicationPlanLimit(999999, hits, client.Params{"period": "day", "value": "1"})
	apiErr(t, err, http.StatusNotFound)
	_, err = cl.CreateApplicationPlanLimit(plan.ID, 999999, client.Params{"period": "day", "value": "1"})
	apiErr(t, err, http.StatusNotFound)
	_, err = cl.ApplicationPlanLimit(plan.ID, hits, 999999)
	apiErr(t, err, http.StatusNotFound)
	// A metric of a product the plan does not belong to.
	other := createProduct(t, cl, "Other API", nil)
	_, err = cl.CreateApplicationPlanLimit(plan.ID, productHits(t, cl, other), client.Params{"period": "day", "value": "1"})
	apiErr(t, err, http.StatusNotFound)
	// The limit exists, but not under that metric.
	_, err = cl.ApplicationPlanLimit(plan.ID, backendHits, u.ID)
	apiErr(t, err, http.StatusNotFound)

	list, err = cl.ListApplicationPlansLimits(plan.ID)
	require.NoError(t, err)
	require.Len(t, list.Limits, 1, "refused writes stored nothing")
	assert.Equal(t, u, list.Limits[0].Element)

	// Limits go with their plan.
	require.NoError(t, cl.DeleteApplicationPlan(product, plan.ID))
	_, err = cl.ListApplicationPlansLimits(plan.ID)
	apiErr(t, err, http.StatusNotFound)
}

func TestLimitsLegacyXML(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	product := createProduct(t, cl, "Legacy Limits API", nil)
	metric := s64(productHits(t, cl, product))
	plan := s64(createPlan(t, cl, product, client.Params{"name": "Basic"}).ID)

	l, err := cl.CreateLimitAppPlan(plan, metric, "month", 100)
	require.NoError(t, err)
	assert.NotEmpty(t, l.ID)
	assert.Equal(t, metric, l.MetricID)
	assert.Equal(t, plan, l.PlanID)
	assert.Equal(t, "month", l.Period)
	assert.Equal(t, "100", l.Value)

	// The client's update and delete paths end in ".xml " (%20 on the wire).
	u, err := cl.UpdateLimitPerAppPlan(plan, metric, l.ID, client.Params{"value": "200", "period": "week"})
	require.NoError(t, err)
	assert.Equal(t, l.ID, u.ID)
	assert.Equal(t, "200", u.Value)
	assert.Equal(t, "week", u.Period)
	assert.Equal(t, metric, u.MetricID)
	assert.Equal(t, plan, u.PlanID)

	second, err := cl.CreateLimitAppPlan(plan, metric, "eternity", 5000)
	require.NoError(t, err)

	perPlan, err := cl.ListLimitsPerAppPlan(plan)
	require.NoError(t, err)
	require.Len(t, perPlan.Limits, 2)
	assert.Equal(t, u.ID, perPlan.Limits[0].ID)
	assert.Equal(t, "week", perPlan.Limits[0].Period)
	assert.Equal(t, "200", perPlan.Limits[0].Value)
	assert.Equal(t, metric, perPlan.Limits[0].MetricID)
	assert.Equal(t, plan, perPlan.Limits[0].PlanID)
	assert.Equal(t, second.ID, perPlan.Limits[1].ID)
	assert.Equal(t, "eternity", perPlan.Limits[1].Period)
	assert.Equal(t, "5000", perPlan.Limits[1].Value)

	perMetric, err := cl.ListLimitsPerMetric(plan, metric)
	require.NoError(t, err)
	require.Len(t, perMetric.Limits, 2)
	assert.Equal(t, perPlan.Limits, perMetric.Limits)

	// The client expects 201 from a delete; the rule (and 3scale)
	// is 200, so the client reports an ApiErr carrying 200 after the delete
	// succeeded.
	err = cl.DeleteLimitPerAppPlan(plan, metric, second.ID)
	apiErr(t, err, http.StatusOK)
	perPlan, err = cl.ListLimitsPerAppPlan(plan)
	require.NoError(t, err)
	require.Len(t, perPlan.Limits, 1)
	assert.Equal(t, u.ID, perPlan.Limits[0].ID)

	_, err = cl.CreateLimitAppPlan(plan, metric, "fortnight", 1)
	apiErr(t, err, http.StatusUnprocessableEntity)
	code, body := formCall(t, co, http.MethodPost, "/admin/api/application_plans/"+plan+"/metrics/"+metric+"/limits.xml",
		url.Values{"period": {"fortnight"}, "value": {"1"}})
	assert.Equal(t, http.StatusUnprocessableEntity, code)
	assert.Contains(t, string(body), "<error>Period is not included in the list")
	_, err = cl.UpdateLimitPerAppPlan(plan, metric, u.ID, client.Params{"value": "abc"})
	apiErr(t, err, http.StatusUnprocessableEntity)
	_, err = cl.ListLimitsPerAppPlan("999999")
	apiErr(t, err, http.StatusNotFound, "Not found")
	_, err = cl.UpdateLimitPerAppPlan(plan, metric, "999999", client.Params{"value": "1"})
	apiErr(t, err, http.StatusNotFound, "Not found")
}

func TestPricingRulesJSON(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	product := createProduct(t, cl, "Priced API", nil)
	hits := productHits(t, cl, product)
	plan := createPlan(t, cl, product, client.Params{"name": "Paid"})

	created, err := cl.CreateApplicationPlanPricingRule(plan.ID, hits, client.Params{"min": "1", "max": "100", "cost_per_unit": "0.5"})
	require.NoError(t, err)
	r := created.Element
	assert.NotZero(t, r.ID)
	assert.Equal(t, hits, r.MetricID)
	assert.Equal(t, "0.5", r.CostPerUnit)
	assert.Equal(t, 1, r.Min)
	assert.Equal(t, 100, r.Max)
	recentTime(t, r.CreatedAt)
	recentTime(t, r.UpdatedAt)

	// Without max the range is open; a whole cost is rendered as a decimal.
	open, err := cl.CreateApplicationPlanPricingRule(plan.ID, hits, client.Params{"min": "101", "cost_per_unit": "2"})
	require.NoError(t, err)
	assert.Equal(t, "2.0", open.Element.CostPerUnit)
	assert.Equal(t, 101, open.Element.Min)
	assert.Equal(t, 0, open.Element.Max)

	list, err := cl.ListApplicationPlansPricingRules(plan.ID)
	require.NoError(t, err)
	require.Len(t, list.Rules, 2)
	assert.Equal(t, r, list.Rules[0].Element)
	assert.Equal(t, open.Element, list.Rules[1].Element)

	// Per-metric list and read have no client method.
	base := "/admin/api/application_plans/" + s64(plan.ID) + "/metrics/" + s64(hits) + "/pricing_rules"
	var perMetric client.ApplicationPlanPricingRuleList
	decodeCall(t, co, http.MethodGet, base+".json", nil, http.StatusOK, &perMetric)
	assert.Equal(t, list.Rules, perMetric.Rules)
	var one client.ApplicationPlanPricingRule
	decodeCall(t, co, http.MethodGet, base+"/"+s64(r.ID)+".json", nil, http.StatusOK, &one)
	assert.Equal(t, r, one.Element)
	var xmlRule struct {
		ID          int64  `xml:"id"`
		MetricID    int64  `xml:"metric_id"`
		PlanID      int64  `xml:"plan_id"`
		CostPerUnit string `xml:"cost_per_unit"`
		Min         int    `xml:"min"`
		Max         int    `xml:"max"`
	}
	decodeCall(t, co, http.MethodGet, base+"/"+s64(r.ID)+".xml", nil, http.StatusOK, &xmlRule)
	assert.Equal(t, r.ID, xmlRule.ID)
	assert.Equal(t, hits, xmlRule.MetricID)
	assert.Equal(t, plan.ID, xmlRule.PlanID)
	assert.Equal(t, "0.5", xmlRule.CostPerUnit)
	assert.Equal(t, 1, xmlRule.Min)
	assert.Equal(t, 100, xmlRule.Max)

	require.NoError(t, cl.DeleteApplicationPlanPricingRule(plan.ID, hits, open.Element.ID))
	code, _ := formCall(t, co, http.MethodGet, base+"/"+s64(open.Element.ID)+".json", nil)
	assert.Equal(t, http.StatusNotFound, code)
	list, err = cl.ListApplicationPlansPricingRules(plan.ID)
	require.NoError(t, err)
	require.Len(t, list.Rules, 1)
	assert.Equal(t, r, list.Rules[0].Element)

	// Bad input.
	_, err = cl.CreateApplicationPlanPricingRule(plan.ID, hits, client.Params{"min": "50", "max": "150", "cost_per_unit": "1"})
	apiErr(t, err, http.StatusUnprocessableEntity, `"min"`, "overlaps")
	_, err = cl.CreateApplicationPlanPricingRule(plan.ID, hits, client.Params{"min": "200", "cost_per_unit": "abc"})
	apiErr(t, err, http.StatusUnprocessableEntity, `"cost_per_unit"`)
	_, err = cl.CreateApplicationPlanPricingRule(plan.ID, hits, client.Params{"min": "many", "cost_per_unit": "1"})
	apiErr(t, err, http.StatusUnprocessableEntity, `"min"`)
	_, err = cl.CreateApplicationPlanPricingRule(plan.ID, hits, client.Params{"min": "300", "max": "200", "cost_per_unit": "1"})
	apiErr(t, err, http.StatusUnprocessableEntity, `"max"`)
	_, err = cl.ListApplicationPlansPricingRules(999999)
	apiErr(t, err, http.StatusNotFound)
	_, err = cl.CreateApplicationPlanPricingRule(plan.ID, 999999, client.Params{"min": "500", "cost_per_unit": "1"})
	apiErr(t, err, http.StatusNotFound)
	apiErr(t, cl.DeleteApplicationPlanPricingRule(plan.ID, hits, 999999), http.StatusNotFound)

	list, err = cl.ListApplicationPlansPricingRules(plan.ID)
	require.NoError(t, err)
	require.Len(t, list.Rules, 1, "refused writes stored nothing")
}
