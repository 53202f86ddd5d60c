package threescale_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"

	"github.com/3scale/3scale-porta-go-client/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// The 3scale toolbox's `3scale application-plan export` and `import`,
// replayed call by call as the toolbox (lib/3scale_toolbox/commands/
// plans_command) makes them through the 3scale-api gem: JSON bodies, .json
// paths, lookups by system_name that first try the name as an id.

// tbGem is the 3scale-api gem's HTTP side: it sends JSON and reads JSON, and
// every answer but a 404 (NotFoundError) and a 422 (errors in the body) must
// be a success.
type tbGem struct {
	t  *testing.T
	co *testenv.Coordinator
}

type tbObj = map[string]any

// call sends method path.json with body as JSON; a 404 is (nil, false).
func (g tbGem) call(method, path string, query url.Values, body any) (any, bool) {
	g.t.Helper()
	status, v := g.answer(method, path, query, body)
	if status == http.StatusNotFound {
		return nil, false
	}
	require.Contains(g.t, []int{http.StatusOK, http.StatusCreated}, status, "%s %s: %v", method, path, v)
	return v, true
}

// answer sends method path.json with body as JSON and returns the status
// and the decoded answer (nil when empty), for the calls whose 422 the
// toolbox reads (an "already taken" it recovers from).
func (g tbGem) answer(method, path string, query url.Values, body any) (int, any) {
	g.t.Helper()
	p := path + ".json"
	if len(query) > 0 {
		p += "?" + query.Encode()
	}
	status, raw := ftJSONCall(g.t, g.co, method, p, body)
	if len(raw) == 0 || status == http.StatusNotFound {
		return status, nil
	}
	var v any
	require.NoError(g.t, json.Unmarshal(raw, &v), "%s %s: %s", method, p, raw)
	return status, v
}

// list is the gem's extract(collection:, entity:) of a GET.
func (g tbGem) list(path string, query url.Values, collection, entity string) []tbObj {
	g.t.Helper()
	v, ok := g.call(http.MethodGet, path, query, nil)
	require.True(g.t, ok, "GET %s: not found", path)
	var out []tbObj
	for _, item := range v.(tbObj)[collection].([]any) {
		out = append(out, item.(tbObj)[entity].(tbObj))
	}
	return out
}

// write is a create or update whose answer, extracted, must carry no errors.
func (g tbGem) write(method, path string, body any, entity string) tbObj {
	g.t.Helper()
	v, ok := g.call(method, path, nil, body)
	require.True(g.t, ok, "%s %s: not found", method, path)
	require.NotContains(g.t, v.(tbObj), "errors")
	return v.(tbObj)[entity].(tbObj)
}

func tbID(o tbObj) string { return tbJSON(o["id"]) }

func tbJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// tbItems is a list of an artifact, which YAML (and JSON) may give as null.
func tbItems(v any) []any {
	items, _ := v.([]any)
	return items
}

func tbWithout(o tbObj, keys ...string) tbObj {
	out := tbObj{}
	for k, v := range o {
		if !slices.Contains(keys, k) {
			out[k] = v
		}
	}
	return out
}

func tbBySystemName(list []tbObj, name string) tbObj {
	for _, o := range list {
		if o["system_name"] == name {
			return o
		}
	}
	return nil
}

// findService is Entities::Service.find with a system_name: not a number,
// so the whole list, page by page.
func (g tbGem) findService(systemName string) tbObj {
	g.t.Helper()
	svc := g.serviceBySystemName(systemName)
	require.NotNil(g.t, svc, "service %s", systemName)
	return svc
}

// serviceBySystemName is Entities::Service.find_by_system_name: the list,
// 500 a page; nil when there is none.
func (g tbGem) serviceBySystemName(name string) tbObj {
	g.t.Helper()
	return tbBySystemName(g.list("/admin/api/services", url.Values{"page": {"1"}, "per_page": {"500"}}, "services", "service"), name)
}

// findPlan is Entities::ApplicationPlan.find: the ref as an id first (a
// 404), then the service's plans by system_name; nil when there is none.
func (g tbGem) findPlan(svc tbObj, ref string) tbObj {
	g.t.Helper()
	_, ok := g.call(http.MethodGet, "/admin/api/services/"+tbID(svc)+"/application_plans/"+ref, nil, nil)
	require.False(g.t, ok, "a system_name is no plan id")
	return tbBySystemName(g.list("/admin/api/services/"+tbID(svc)+"/application_plans", nil, "plans", "application_plan"), ref)
}

// metricsAndMethods is Service#metrics and #methods: the metric list holds
// both; the methods are the hits metric's.
func (g tbGem) metricsAndMethods(svc tbObj) (metrics, methods []tbObj) {
	g.t.Helper()
	return g.metricsUnder("/admin/api/services/" + tbID(svc))
}

// metricsUnder is metricsAndMethods of the product or backend API at base.
func (g tbGem) metricsUnder(base string) (metrics, methods []tbObj) {
	g.t.Helper()
	all := g.list(base+"/metrics", nil, "metrics", "metric")
	hits := tbBySystemName(all, "hits")
	require.NotNil(g.t, hits)
	methods = g.list(base+"/metrics/"+tbID(hits)+"/methods", nil, "methods", "method")
	for _, m := range all {
		if !slices.ContainsFunc(methods, func(x tbObj) bool { return tbID(x) == tbID(m) }) {
			metrics = append(metrics, m)
		}
	}
	return metrics, methods
}

// exportPlan is `3scale application-plan export remote service plan`.
func (g tbGem) exportPlan(service, plan string) tbObj {
	g.t.Helper()
	svc := g.findService(service)
	p := g.findPlan(svc, plan)
	require.NotNil(g.t, p, "plan %s", plan)
	pid := tbID(p)
	metrics, methods := g.metricsAndMethods(svc)
	usedMetrics, usedMethods := map[string]tbObj{}, map[string]tbObj{}
	metricInfo := func(elem tbObj) {
		mid := tbJSON(elem["metric_id"])
		if m := slices.IndexFunc(methods, func(x tbObj) bool { return tbID(x) == mid }); m >= 0 {
			elem["metric_system_name"], usedMethods[mid] = methods[m]["system_name"], methods[m]
			return
		}
		m := slices.IndexFunc(metrics, func(x tbObj) bool { return tbID(x) == mid })
		require.GreaterOrEqual(g.t, m, 0, "metric %s of %v", mid, elem)
		elem["metric_system_name"], usedMetrics[mid] = metrics[m]["system_name"], metrics[m]
	}
	var limits, rules, features, outMetrics, outMethods []any
	for _, l := range g.list("/admin/api/application_plans/"+pid+"/limits", nil, "limits", "limit") {
		metricInfo(l)
		limits = append(limits, tbWithout(l, "id", "metric_id", "links", "created_at", "updated_at"))
	}
	for _, r := range g.list("/admin/api/application_plans/"+pid+"/pricing_rules", nil, "pricing_rules", "pricing_rule") {
		metricInfo(r)
		rules = append(rules, tbWithout(r, "id", "metric_id", "links", "created_at", "updated_at"))
	}
	for _, f := range g.list("/admin/api/application_plans/"+pid+"/features", nil, "features", "feature") {
		features = append(features, tbWithout(f, "id", "links", "created_at", "updated_at"))
	}
	for _, m := range usedMetrics {
		outMetrics = append(outMetrics, tbWithout(m, "id", "links", "created_at", "updated_at"))
	}
	for _, m := range usedMethods {
		outMethods = append(outMethods, tbWithout(m, "id", "links", "created_at", "updated_at"))
	}
	return tbObj{
		"plan":          tbWithout(p, "id", "links", "default", "custom", "created_at", "updated_at"),
		"limits":        limits,
		"pricingrules":  rules,
		"plan_features": features,
		"metrics":       outMetrics,
		"methods":       outMethods,
	}
}

// importPlan is `3scale application-plan import remote service` of an
// export (read back as YAML would give it: plain JSON values).
func (g tbGem) importPlan(service string, artifact tbObj) {
	g.t.Helper()
	var a tbObj
	require.NoError(g.t, json.Unmarshal([]byte(tbJSON(artifact)), &a))
	resourcePlan := a["plan"].(tbObj)
	planRef := resourcePlan["system_name"].(string)
	svc := g.findService(service)
	sid := tbID(svc)

	// CreateOrUpdateAppPlanStep
	attrs := tbWithout(resourcePlan)
	state, _ := attrs["state"].(string)
	delete(attrs, "state")
	if p := g.findPlan(svc, planRef); p == nil {
		if state == "published" {
			attrs["state_event"] = "publish"
		}
		g.write(http.MethodPost, "/admin/api/services/"+sid+"/application_plans", tbObj{"application_plan": attrs}, "application_plan")
	} else {
		attrs = tbWithout(attrs, "id", "links", "system_name")
		attrs["state_event"] = map[string]string{"published": "publish", "hidden": "hide"}[state]
		g.write(http.MethodPatch, "/admin/api/services/"+sid+"/application_plans/"+tbID(p), tbObj{"application_plan": attrs}, "application_plan")
	}

	// ImportMetricsStep: what the service lacks, by system_name.
	metrics, methods := g.metricsAndMethods(svc)
	for _, m := range tbItems(a["metrics"]) {
		if tbBySystemName(metrics, m.(tbObj)["system_name"].(string)) == nil {
			g.write(http.MethodPost, "/admin/api/services/"+sid+"/metrics", tbObj{"metric": m}, "metric")
		}
	}
	hits := tbBySystemName(g.list("/admin/api/services/"+sid+"/metrics", nil, "metrics", "metric"), "hits")
	for _, m := range tbItems(a["methods"]) {
		if tbBySystemName(methods, m.(tbObj)["system_name"].(string)) == nil {
			g.write(http.MethodPost, "/admin/api/services/"+sid+"/metrics/"+tbID(hits)+"/methods", tbObj{"metric": m}, "method")
		}
	}

	// ImportMetricLimitsStep: the limits the plan lacks, by metric and period.
	plan := g.findPlan(svc, planRef)
	pid := tbID(plan)
	metrics, methods = g.metricsAndMethods(svc)
	all := append(slices.Clone(metrics), methods...)
	existing := g.list("/admin/api/application_plans/"+pid+"/limits", nil, "limits", "limit")
	for _, l := range tbItems(a["limits"]) {
		limit := l.(tbObj)
		metric := tbBySystemName(all, limit["metric_system_name"].(string))
		require.NotNil(g.t, metric)
		if slices.ContainsFunc(existing, func(e tbObj) bool {
			return tbJSON(e["metric_id"]) == tbID(metric) && e["period"] == limit["period"]
		}) {
			continue
		}
		g.write(http.MethodPost, "/admin/api/application_plans/"+pid+"/metrics/"+tbID(metric)+"/limits",
			tbObj{"usage_limit": tbWithout(limit, "metric_system_name")}, "limit")
	}

	// ImportPricingRulesStep: set semantics, delete then create.
	for _, r := range g.list("/admin/api/application_plans/"+pid+"/pricing_rules", nil, "pricing_rules", "pricing_rule") {
		_, ok := g.call(http.MethodDelete, "/admin/api/application_plans/"+pid+"/metrics/"+tbJSON(r["metric_id"])+"/pricing_rules/"+tbID(r), nil, nil)
		require.True(g.t, ok)
	}
	for _, r := range tbItems(a["pricingrules"]) {
		rule := r.(tbObj)
		metric := tbBySystemName(all, rule["metric_system_name"].(string))
		require.NotNil(g.t, metric)
		body := tbWithout(rule, "metric_system_name", "metric_backend_system_name")
		cost, err := strconv.ParseFloat(rule["cost_per_unit"].(string), 64)
		require.NoError(g.t, err)
		body["cost_per_unit"] = cost // the toolbox sends "0.01".to_f
		g.write(http.MethodPost, "/admin/api/application_plans/"+pid+"/metrics/"+tbID(metric)+"/pricing_rules", body, "pricing_rule")
	}

	// ImportPlanFeaturesStep: the features the plan lacks, by system_name,
	// created on the service first when it has none of that name.
	enabled := g.list("/admin/api/application_plans/"+pid+"/features", nil, "features", "feature")
	var serviceFeatures []tbObj
	for _, f := range tbItems(a["plan_features"]) {
		feature := f.(tbObj)
		name := feature["system_name"].(string)
		if tbBySystemName(enabled, name) != nil {
			continue
		}
		if serviceFeatures == nil {
			serviceFeatures = g.list("/admin/api/services/"+sid+"/features", nil, "features", "feature")
		}
		target := tbBySystemName(serviceFeatures, name)
		if target == nil {
			attrs := tbWithout(feature)
			// The toolbox's workaround for porta issue 774: 3scale answers
			// the scope underscored and takes it camel-cased.
			attrs["scope"] = map[string]string{"application_plan": "ApplicationPlan", "service_plan": "ServicePlan"}[attrs["scope"].(string)]
			target = g.write(http.MethodPost, "/admin/api/services/"+sid+"/features", tbObj{"feature": attrs}, "feature")
		}
		g.write(http.MethodPost, "/admin/api/application_plans/"+pid+"/features", tbObj{"feature_id": target["id"]}, "feature")
	}
}

func TestToolboxApplicationPlanExportImport(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	g := tbGem{t: t, co: co}

	source := createProduct(t, cl, "Plan Source", client.Params{"system_name": "plan_source"})
	hits := productHits(t, cl, source)
	storage, err := cl.CreateProductMetric(source, client.Params{"friendly_name": "Storage", "system_name": "storage", "unit": "MB"})
	require.NoError(t, err)
	upload, err := cl.CreateProductMethod(source, hits, client.Params{"friendly_name": "Upload", "system_name": "upload"})
	require.NoError(t, err)
	gold := createPlan(t, cl, source, client.Params{"name": "Gold", "system_name": "gold", "state_event": "publish",
		"cost_per_month": "30", "setup_fee": "5", "trial_period_days": "14", "approval_required": "true"})
	for _, l := range []struct {
		metric int64
		period string
		value  string
	}{{hits, "day", "10000"}, {storage.Element.ID, "month", "500"}, {upload.Element.ID, "eternity", "0"}} {
		_, err := cl.CreateApplicationPlanLimit(gold.ID, l.metric, client.Params{"period": l.period, "value": l.value})
		require.NoError(t, err)
	}
	_, err = cl.CreateApplicationPlanPricingRule(gold.ID, hits, client.Params{"min": "1", "max": "1000", "cost_per_unit": "0.01"})
	require.NoError(t, err)
	_, err = cl.CreateApplicationPlanPricingRule(gold.ID, upload.Element.ID, client.Params{"min": "1", "cost_per_unit": "2"})
	require.NoError(t, err)
	sla := g.write(http.MethodPost, "/admin/api/services/"+s64(source)+"/features",
		tbObj{"feature": tbObj{"name": "SLA 99.9", "system_name": "sla", "description": "uptime"}}, "feature")
	g.write(http.MethodPost, "/admin/api/services/"+s64(source)+"/features", tbObj{"feature": tbObj{"name": "Unused"}}, "feature")
	g.write(http.MethodPost, "/admin/api/application_plans/"+s64(gold.ID)+"/features", tbObj{"feature_id": sla["id"]}, "feature")

	artifact := g.exportPlan("plan_source", "gold")
	assert.Len(t, artifact["limits"], 3)
	assert.Len(t, artifact["pricingrules"], 2)
	require.Len(t, artifact["plan_features"], 1)
	assert.Equal(t, tbObj{"name": "SLA 99.9", "system_name": "sla", "scope": "application_plan", "visible": true, "description": "uptime"},
		artifact["plan_features"].([]any)[0])

	// Into a product with nothing but its hits metric; then again, which
	// must change nothing (the toolbox imports what is missing).
	target := createProduct(t, cl, "Plan Target", client.Params{"system_name": "plan_target"})
	g.importPlan("plan_target", artifact)
	imported := g.exportPlan("plan_target", "gold")
	assert.ElementsMatch(t, tbWithoutPlanIDs(artifact["limits"]), tbWithoutPlanIDs(imported["limits"]), "limits")
	assert.ElementsMatch(t, tbWithoutPlanIDs(artifact["pricingrules"]), tbWithoutPlanIDs(imported["pricingrules"]), "pricing rules")
	assert.Equal(t, artifact["plan_features"], imported["plan_features"])
	assert.Equal(t, tbWithout(artifact["plan"].(tbObj), "service_id"), tbWithout(imported["plan"].(tbObj), "service_id"))

	g.importPlan("plan_target", artifact)
	again := g.exportPlan("plan_target", "gold")
	assert.Len(t, again["limits"], 3)
	assert.Len(t, again["pricingrules"], 2)
	assert.Len(t, again["plan_features"], 1)
	targetFeatures := g.list("/admin/api/services/"+s64(target)+"/features", nil, "features", "feature")
	assert.Len(t, targetFeatures, 1, "the feature is created on the target service once")
	plans := g.list("/admin/api/services/"+s64(target)+"/application_plans", nil, "plans", "application_plan")
	assert.Len(t, plans, 1)
}

// tbWithoutPlanIDs drops plan_id, which names the source plan in an export and
// the target plan in a re-export.
func tbWithoutPlanIDs(v any) []any {
	var out []any
	for _, e := range tbItems(v) {
		out = append(out, tbWithout(e.(tbObj), "plan_id"))
	}
	return out
}
