package threescale_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// The 3scale toolbox's `3scale service copy -s remote -d remote -t target
// source` (`3scale copy service` runs the same tasks) and `3scale product
// copy`, replayed call by call as the toolbox (1.0.1: commands/
// service_command/copy_command, commands/product_command/copy_command)
// makes them through the 3scale-api gem, source and destination being the
// same coordinator.

// tbServiceParams is Entities::Service::VALID_PARAMS, what a create takes
// of the source's attributes.
var tbServiceParams = []string{"name", "backend_version", "deployment_option", "description", "system_name",
	"support_email", "tech_support_email", "admin_support_email"}

// tbSource is what a copy reads of its source: the gem's calls for a
// remote, or a product document (`3scale product import`).
type tbSource interface {
	service() tbObj
	proxy() tbObj
	metrics() (metrics, methods []tbObj) // each with id and system_name
	rules() []tbObj
	plans() []tbObj
	limits(plan tbObj) []tbObj
	pricingRules(plan tbObj) []tbObj
	policies() any
	usages() []tbObj         // backend_id and path
	backend(id string) tbObj // name, system_name, description, private_endpoint
	backendMetrics(id string) (metrics, methods []tbObj)
	backendRules(id string) []tbObj
}

// tbRemote is a source read through the API.
type tbRemote struct {
	g   tbGem
	sid string
}

func (r tbRemote) get(path, entity string) tbObj {
	r.g.t.Helper()
	v, ok := r.g.call(http.MethodGet, path, nil, nil)
	require.True(r.g.t, ok, "GET %s", path)
	return v.(tbObj)[entity].(tbObj)
}

func (r tbRemote) base() string   { return "/admin/api/services/" + r.sid }
func (r tbRemote) service() tbObj { return r.get(r.base(), "service") }
func (r tbRemote) proxy() tbObj   { return r.get(r.base()+"/proxy", "proxy") }
func (r tbRemote) metrics() (metrics, methods []tbObj) {
	return r.g.metricsAndMethods(tbObj{"id": json.Number(r.sid)})
}
func (r tbRemote) rules() []tbObj {
	return r.g.list(r.base()+"/proxy/mapping_rules", nil, "mapping_rules", "mapping_rule")
}
func (r tbRemote) plans() []tbObj {
	return r.g.list(r.base()+"/application_plans", nil, "plans", "application_plan")
}
func (r tbRemote) limits(plan tbObj) []tbObj {
	return r.g.list("/admin/api/application_plans/"+tbID(plan)+"/limits", nil, "limits", "limit")
}
func (r tbRemote) pricingRules(plan tbObj) []tbObj {
	return r.g.list("/admin/api/application_plans/"+tbID(plan)+"/pricing_rules", nil, "pricing_rules", "pricing_rule")
}
func (r tbRemote) policies() any {
	v, ok := r.g.call(http.MethodGet, r.base()+"/proxy/policies", nil, nil)
	require.True(r.g.t, ok)
	return v.(tbObj)["policies_config"]
}
func (r tbRemote) usages() []tbObj { return r.g.backendUsages(r.sid) }
func (r tbRemote) backend(id string) tbObj {
	return r.get("/admin/api/backend_apis/"+id, "backend_api")
}
func (r tbRemote) backendMetrics(id string) (metrics, methods []tbObj) {
	return r.g.metricsUnder("/admin/api/backend_apis/" + id)
}
func (r tbRemote) backendRules(id string) []tbObj {
	return r.g.list("/admin/api/backend_apis/"+id+"/mapping_rules", nil, "mapping_rules", "mapping_rule")
}

// backendUsages is the gem's list_backend_usages: a bare array.
func (g tbGem) backendUsages(sid string) []tbObj {
	g.t.Helper()
	v, ok := g.call(http.MethodGet, "/admin/api/services/"+sid+"/backend_usages", nil, nil)
	require.True(g.t, ok)
	var out []tbObj
	for _, u := range v.([]any) {
		out = append(out, u.(tbObj)["backend_usage"].(tbObj))
	}
	return out
}

// tbCopy is one run of a copy into the coordinator.
type tbCopy struct {
	g      tbGem
	src    tbSource
	target string // the target's system name
	tid    string
}

// copyService is `3scale service copy`.
func (g tbGem) copyService(src tbSource, target string) string {
	c := &tbCopy{g: g, src: src, target: target}
	created := c.createOrUpdateService()
	c.copyProxy()
	c.copyMethods()
	c.copyMetrics()
	c.copyPlans()
	c.copyLimits()
	c.copyPolicies()
	c.copyPricingRules()
	// CopyActiveDocsTask: the source has none here. (On a second copy of a
	// source with an ActiveDoc into the same 3scale, the toolbox creates
	// "<system_name><target id>" again, which 3scale refuses as taken.)
	c.copyMappingRules(created)
	c.bumpProxyVersion()
	return c.tid
}

// copyProduct is `3scale product copy`, and `3scale product import` with a
// document for source.
func (g tbGem) copyProduct(src tbSource, target string) string {
	c := &tbCopy{g: g, src: src, target: target}
	created := c.createOrUpdateService()
	c.deleteTargetUsages()
	c.copyBackends()
	c.copyProxy()
	c.copyMethods()
	c.copyMetrics()
	c.copyMappingRules(created)
	c.copyPlans()
	c.copyLimits()
	c.copyPolicies()
	c.copyPricingRules()
	c.bumpProxyVersion()
	return c.tid
}

// createOrUpdateService is CreateOrUpdateTargetServiceTask: the target by
// system name, created from the source's valid params, else updated with all
// of the source's attributes. It says whether it created the target.
func (c *tbCopy) createOrUpdateService() bool {
	attrs := c.src.service()
	attrs["system_name"] = c.target
	if t := c.g.serviceBySystemName(c.target); t != nil {
		c.tid = tbID(t)
		c.g.write(http.MethodPut, "/admin/api/services/"+c.tid, tbObj{"service": attrs}, "service")
		return false
	}
	params := tbObj{}
	for _, k := range tbServiceParams {
		if v, ok := attrs[k]; ok && v != nil {
			params[k] = v
		}
	}
	c.tid = tbID(c.g.write(http.MethodPost, "/admin/api/services", tbObj{"service": params}, "service"))
	return true
}

func (c *tbCopy) base() string { return "/admin/api/services/" + c.tid }

// copyProxy is CopyServiceProxyTask: all of the source's proxy, less the
// public base URLs of a hosted one, PATCHed onto the target.
func (c *tbCopy) copyProxy() {
	p := c.src.proxy()
	if c.src.service()["deployment_option"] == "hosted" {
		p = tbWithout(p, "endpoint", "sandbox_endpoint")
	}
	c.g.write(http.MethodPatch, c.base()+"/proxy", tbObj{"proxy": p}, "proxy")
}

// copyMethods is CopyMethodsTask: the source's methods the target lacks, by
// system name, with their names and description.
func (c *tbCopy) copyMethods() {
	_, methods := c.src.metrics()
	_, have := c.g.metricsAndMethods(tbObj{"id": json.Number(c.tid)})
	hits := c.hits()
	for _, m := range methods {
		if tbBySystemName(have, m["system_name"].(string)) == nil {
			c.g.write(http.MethodPost, c.base()+"/metrics/"+hits+"/methods",
				tbObj{"metric": tbObj{"friendly_name": m["friendly_name"], "system_name": m["system_name"], "description": m["description"]}}, "method")
		}
	}
}

func (c *tbCopy) hits() string {
	hits := tbBySystemName(c.g.list(c.base()+"/metrics", nil, "metrics", "metric"), "hits")
	require.NotNil(c.g.t, hits)
	return tbID(hits)
}

// copyMetrics is CopyMetricsTask: the missing metrics, all their attributes
// but id and links.
func (c *tbCopy) copyMetrics() {
	metrics, _ := c.src.metrics()
	have, _ := c.g.metricsAndMethods(tbObj{"id": json.Number(c.tid)})
	for _, m := range metrics {
		if tbBySystemName(have, m["system_name"].(string)) == nil {
			c.g.write(http.MethodPost, c.base()+"/metrics", tbObj{"metric": tbWithout(m, "id", "links")}, "metric")
		}
	}
}

// metricsMap is Helper.metrics_mapping: source metric id to target metric
// id, by system name, over metrics and methods.
func (c *tbCopy) metricsMap() map[string]json.Number {
	metrics, methods := c.src.metrics()
	tm, tms := c.g.metricsAndMethods(tbObj{"id": json.Number(c.tid)})
	have := append(tm, tms...)
	out := map[string]json.Number{}
	for _, m := range append(metrics, methods...) {
		if t := tbBySystemName(have, m["system_name"].(string)); t != nil {
			out[tbID(m)] = json.Number(tbID(t))
		}
	}
	return out
}

// copyMappingRules is DestroyMappingRulesTask (on a new target only), then
// CopyMappingRulesTask: the rules the target lacks, all their attributes
// with the metric mapped.
func (c *tbCopy) copyMappingRules(created bool) {
	path := c.base() + "/proxy/mapping_rules"
	if created {
		for _, r := range c.g.list(path, nil, "mapping_rules", "mapping_rule") {
			_, ok := c.g.call(http.MethodDelete, path+"/"+tbID(r), nil, nil)
			require.True(c.g.t, ok)
		}
	}
	mm := c.metricsMap()
	have := c.g.list(path, nil, "mapping_rules", "mapping_rule")
	for _, r := range c.src.rules() {
		metric := mm[tbJSON(r["metric_id"])]
		if slices.ContainsFunc(have, func(h tbObj) bool {
			return h["pattern"] == r["pattern"] && h["http_method"] == r["http_method"] &&
				tbJSON(h["delta"]) == tbJSON(r["delta"]) && tbJSON(h["metric_id"]) == string(metric)
		}) {
			continue
		}
		attrs := tbWithout(r)
		attrs["metric_id"] = metric
		c.g.write(http.MethodPost, path, tbObj{"mapping_rule": attrs}, "mapping_rule")
	}
}

// planMapping is Helper.application_plan_mapping: source plan to target plan
// by system name.
func (c *tbCopy) planMapping() [][2]tbObj {
	have := c.g.list(c.base()+"/application_plans", nil, "plans", "application_plan")
	var out [][2]tbObj
	for _, p := range c.src.plans() {
		if t := tbBySystemName(have, p["system_name"].(string)); t != nil {
			out = append(out, [2]tbObj{p, t})
		}
	}
	return out
}

// copyPlans is CopyApplicationPlansTask: the missing plans that are not
// custom, created (ApplicationPlan.create) with the state as a state event.
func (c *tbCopy) copyPlans() {
	have := c.g.list(c.base()+"/application_plans", nil, "plans", "application_plan")
	for _, p := range c.src.plans() {
		if tbBySystemName(have, p["system_name"].(string)) != nil || p["custom"] == true {
			continue
		}
		attrs := tbWithout(p, "links", "default", "state")
		switch p["state"] {
		case "published":
			attrs["state_event"] = "publish"
		case "hidden":
			attrs["state_event"] = "hide"
		}
		c.g.write(http.MethodPost, c.base()+"/application_plans", tbObj{"application_plan": attrs}, "application_plan")
	}
}

// copyLimits is CopyLimitsTask: the limits a target plan lacks, by period
// and mapped metric.
func (c *tbCopy) copyLimits() {
	mm := c.metricsMap()
	for _, pair := range c.planMapping() {
		have := c.g.list("/admin/api/application_plans/"+tbID(pair[1])+"/limits", nil, "limits", "limit")
		for _, l := range c.src.limits(pair[0]) {
			metric := mm[tbJSON(l["metric_id"])]
			if slices.ContainsFunc(have, func(h tbObj) bool {
				return h["period"] == l["period"] && tbJSON(h["metric_id"]) == string(metric)
			}) {
				continue
			}
			c.g.write(http.MethodPost, "/admin/api/application_plans/"+tbID(pair[1])+"/metrics/"+string(metric)+"/limits",
				tbObj{"usage_limit": l}, "limit")
		}
	}
}

// copyPricingRules is CopyPricingRulesTask: the rules a target plan lacks,
// by cost, min, max and mapped metric, sent bare.
func (c *tbCopy) copyPricingRules() {
	mm := c.metricsMap()
	for _, pair := range c.planMapping() {
		have := c.g.list("/admin/api/application_plans/"+tbID(pair[1])+"/pricing_rules", nil, "pricing_rules", "pricing_rule")
		for _, r := range c.src.pricingRules(pair[0]) {
			metric := mm[tbJSON(r["metric_id"])]
			if slices.ContainsFunc(have, func(h tbObj) bool {
				return tbJSON(h["cost_per_unit"]) == tbJSON(r["cost_per_unit"]) && tbJSON(h["min"]) == tbJSON(r["min"]) &&
					tbJSON(h["max"]) == tbJSON(r["max"]) && tbJSON(h["metric_id"]) == string(metric)
			}) {
				continue
			}
			c.g.write(http.MethodPost, "/admin/api/application_plans/"+tbID(pair[1])+"/metrics/"+string(metric)+"/pricing_rules",
				r, "pricing_rule")
		}
	}
}

// copyPolicies is CopyPoliciesTask: the source's chain PUT on the target.
func (c *tbCopy) copyPolicies() {
	_, ok := c.g.call(http.MethodPut, c.base()+"/proxy/policies", nil, tbObj{"policies_config": c.src.policies()})
	require.True(c.g.t, ok)
}

// deleteTargetUsages is DeleteTargetBackendUsagesTask.
func (c *tbCopy) deleteTargetUsages() {
	for _, u := range c.g.backendUsages(c.tid) {
		_, ok := c.g.call(http.MethodDelete, c.base()+"/backend_usages/"+tbID(u), nil, nil)
		require.True(c.g.t, ok)
	}
}

// copyBackends is CopyBackendsTask: for each source usage, the backend by
// system name (created when missing; the source's own, left as it is, when
// both are one), its missing metrics, methods and mapping rules, then the
// usage at the source's path.
func (c *tbCopy) copyBackends() {
	for _, u := range c.src.usages() {
		src := c.src.backend(tbJSON(u["backend_id"]))
		name := src["system_name"].(string)
		target := tbBySystemName(c.g.list("/admin/api/backend_apis", url.Values{"page": {"1"}, "per_page": {"500"}},
			"backend_apis", "backend_api"), name)
		if target == nil {
			target = c.g.write(http.MethodPost, "/admin/api/backend_apis", tbWithout(src, "id", "links", "created_at", "updated_at"), "backend_api")
		}
		bid := tbID(target)
		base := "/admin/api/backend_apis/" + bid
		metrics, methods := c.src.backendMetrics(tbJSON(u["backend_id"]))
		have, _ := c.g.metricsUnder(base)
		for _, m := range metrics {
			if tbBySystemName(have, m["system_name"].(string)) == nil {
				c.g.write(http.MethodPost, base+"/metrics", tbWithout(m, "id", "links"), "metric")
			}
		}
		have, haveMethods := c.g.metricsUnder(base)
		hits := tbID(tbBySystemName(have, "hits"))
		for _, m := range methods {
			if tbBySystemName(haveMethods, m["system_name"].(string)) == nil {
				c.g.write(http.MethodPost, base+"/metrics/"+hits+"/methods",
					tbObj{"friendly_name": m["friendly_name"], "system_name": m["system_name"], "description": m["description"]}, "method")
			}
		}
		have, haveMethods = c.g.metricsUnder(base)
		ids := map[string]string{}
		for _, m := range append(metrics, methods...) {
			ids[tbID(m)] = tbID(tbBySystemName(append(have, haveMethods...), m["system_name"].(string)))
		}
		haveRules := c.g.list(base+"/mapping_rules", nil, "mapping_rules", "mapping_rule")
		for _, r := range c.src.backendRules(tbJSON(u["backend_id"])) {
			metric := ids[tbJSON(r["metric_id"])]
			if slices.ContainsFunc(haveRules, func(h tbObj) bool {
				return h["pattern"] == r["pattern"] && h["http_method"] == r["http_method"] &&
					tbJSON(h["delta"]) == tbJSON(r["delta"]) && tbJSON(h["metric_id"]) == metric
			}) {
				continue
			}
			attrs := tbWithout(r, "id", "links", "created_at", "updated_at")
			attrs["metric_id"] = json.Number(metric)
			c.g.write(http.MethodPost, base+"/mapping_rules", attrs, "mapping_rule")
		}
		v, ok := c.g.call(http.MethodPost, c.base()+"/backend_usages", nil, tbObj{"backend_api_id": json.Number(bid), "path": u["path"]})
		require.True(c.g.t, ok)
		require.NotContains(c.g.t, v.(tbObj), "errors")
	}
}

// bumpProxyVersion is BumpProxyVersionTask.
func (c *tbCopy) bumpProxyVersion() {
	c.g.write(http.MethodPatch, c.base()+"/proxy", tbObj{"proxy": tbObj{"service_id": json.Number(c.tid)}}, "proxy")
}

// makeSource builds a product as a provider would with the toolbox's
// calls: metrics, methods, plans with limits and pricing rules, mapping
// rules, a policy chain and the proxy's settings.
func (g tbGem) makeSource(name, systemName string) string {
	g.t.Helper()
	sid := tbID(g.write(http.MethodPost, "/admin/api/services", tbObj{"service": tbObj{
		"name": name, "system_name": systemName, "description": "The source of the copies"}}, "service"))
	base := "/admin/api/services/" + sid
	g.write(http.MethodPatch, base+"/proxy", tbObj{"proxy": tbObj{"api_backend": "https://echo.example.com:443",
		"credentials_location": "headers", "auth_user_key": "X-Key", "error_no_match": "Nothing here", "error_status_no_match": 410}}, "proxy")
	// Its default backend gets a method and a mapping rule of its own.
	backend := "/admin/api/backend_apis/" + tbJSON(g.backendUsages(sid)[0]["backend_id"])
	_, backendMethods := g.metricsUnder(backend)
	require.Empty(g.t, backendMethods)
	backendHits := tbBySystemName(g.list(backend+"/metrics", nil, "metrics", "metric"), "hits")
	status := g.write(http.MethodPost, backend+"/metrics/"+tbID(backendHits)+"/methods",
		tbObj{"friendly_name": "Status", "system_name": "status", "description": "Health"}, "method")
	g.write(http.MethodPost, backend+"/mapping_rules", tbObj{"http_method": "GET", "pattern": "/status", "metric_id": status["id"], "delta": 1}, "mapping_rule")
	storage := g.write(http.MethodPost, base+"/metrics", tbObj{"metric": tbObj{"friendly_name": "Storage", "system_name": "storage",
		"unit": "MB", "description": "Bytes kept"}}, "metric")
	hits := tbBySystemName(g.list(base+"/metrics", nil, "metrics", "metric"), "hits")
	list := g.write(http.MethodPost, base+"/metrics/"+tbID(hits)+"/methods", tbObj{"metric": tbObj{"friendly_name": "List Pets", "system_name": "list_pets"}}, "method")
	add := g.write(http.MethodPost, base+"/metrics/"+tbID(hits)+"/methods", tbObj{"metric": tbObj{"friendly_name": "Add Pet", "system_name": "add_pet"}}, "method")
	for _, r := range []tbObj{{"http_method": "GET", "pattern": "/pets$", "metric_id": list["id"], "delta": 1},
		{"http_method": "POST", "pattern": "/pets$", "metric_id": add["id"], "delta": 2, "last": true}} {
		g.write(http.MethodPost, base+"/proxy/mapping_rules", tbObj{"mapping_rule": r}, "mapping_rule")
	}
	gold := g.write(http.MethodPost, base+"/application_plans", tbObj{"application_plan": tbObj{"name": "Gold", "system_name": "gold",
		"state_event": "publish", "setup_fee": 5, "cost_per_month": 30, "trial_period_days": 14, "approval_required": true}}, "application_plan")
	g.write(http.MethodPost, base+"/application_plans", tbObj{"application_plan": tbObj{"name": "Basic", "system_name": "basic"}}, "application_plan")
	for _, l := range []struct {
		metric tbObj
		period string
		value  int
	}{{hits, "day", 10000}, {storage, "month", 500}, {add, "eternity", 0}} {
		g.write(http.MethodPost, "/admin/api/application_plans/"+tbID(gold)+"/metrics/"+tbID(l.metric)+"/limits",
			tbObj{"usage_limit": tbObj{"period": l.period, "value": l.value}}, "limit")
	}
	g.write(http.MethodPost, "/admin/api/application_plans/"+tbID(gold)+"/metrics/"+tbID(hits)+"/pricing_rules",
		tbObj{"min": 1, "max": 1000, "cost_per_unit": 0.01}, "pricing_rule")
	g.write(http.MethodPost, "/admin/api/application_plans/"+tbID(gold)+"/metrics/"+tbID(list)+"/pricing_rules",
		tbObj{"min": 1, "cost_per_unit": "2"}, "pricing_rule")
	_, ok := g.call(http.MethodPut, base+"/proxy/policies", nil, tbObj{"policies_config": []any{
		tbObj{"name": "headers", "version": "builtin", "enabled": true, "configuration": tbObj{"request": []any{
			tbObj{"op": "set", "header": "X-Copied", "value": "yes", "value_type": "plain"}}}},
		tbObj{"name": "apicast", "version": "builtin", "enabled": true, "configuration": tbObj{}},
	}})
	require.True(g.t, ok)
	return sid
}

func TestToolboxServiceCopyTwice(t *testing.T) {
	co := testenv.StartCoordinator(t)
	g := tbGem{t: t, co: co}
	sid := g.makeSource("Copy Source", "copy_source")
	want := g.productState(sid)

	// The second run finds the target by system name and updates it; its
	// proxy PATCH carries the source's lock_version, which 3scale ignores.
	tid := g.copyService(tbRemote{g: g, sid: sid}, "copy_target")
	assert.Equal(t, want, g.productState(tid), "the copy")
	assert.Equal(t, tid, g.copyService(tbRemote{g: g, sid: sid}, "copy_target"))
	assert.Equal(t, want, g.productState(tid), "the copy after a second run")
	assert.Equal(t, want, g.productState(sid), "the source is as it was")
	assert.Len(t, g.list("/admin/api/services", nil, "services", "service"), 2)
}

func TestToolboxProductCopyTwice(t *testing.T) {
	co := testenv.StartCoordinator(t)
	g := tbGem{t: t, co: co}
	sid := g.makeSource("Product Source", "product_source")
	want := g.productState(sid)
	backends := len(g.list("/admin/api/backend_apis", nil, "backend_apis", "backend_api"))

	// Source and target share the coordinator, so they share the backend:
	// the toolbox warns and mounts the source's own.
	tid := g.copyProduct(tbRemote{g: g, sid: sid}, "product_target")
	assert.Equal(t, want, g.productState(tid), "the copy")
	assert.Equal(t, tid, g.copyProduct(tbRemote{g: g, sid: sid}, "product_target"))
	assert.Equal(t, want, g.productState(tid), "the copy after a second run")
	assert.Equal(t, want, g.productState(sid), "the source is as it was")
	assert.Len(t, g.list("/admin/api/backend_apis", nil, "backend_apis", "backend_api"), backends, "no backend is made")
	u := g.backendUsages(tid)
	require.Len(t, u, 1)
	assert.Equal(t, strconv.Quote("/"), tbJSON(u[0]["path"]))
}
