package threescale_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/portolan/portolan/internal/testenv"
)

// The 3scale toolbox's `3scale product export remote product` and `3scale
// product import -f file remote`, replayed call by call as the toolbox
// (1.0.1: commands/product_command, crds/) makes them through the 3scale-api
// gem. The export is a v1 List of capabilities.3scale.net/v1beta1 Product
// and Backend resources; the import runs `3scale product copy` from that
// document.

// exportProduct is `3scale product export`: the product and the backends
// it uses as resources, read back from YAML as the import reads them.
func (g tbGem) exportProduct(sid string) tbObj {
	g.t.Helper()
	r := tbRemote{g: g, sid: sid}
	svc, proxy := r.service(), r.proxy()
	metrics, methods := r.metrics()
	type ref struct{ systemName, backend string }
	refs := map[string]ref{}
	metricCRs, methodCRs := tbObj{}, tbObj{}
	for _, m := range metrics {
		refs[tbID(m)] = ref{systemName: m["system_name"].(string)}
		metricCRs[m["system_name"].(string)] = tbObj{"friendlyName": m["friendly_name"], "unit": m["unit"], "description": m["description"]}
	}
	for _, m := range methods {
		refs[tbID(m)] = ref{systemName: m["system_name"].(string)}
		methodCRs[m["system_name"].(string)] = tbObj{"friendlyName": m["friendly_name"], "description": m["description"]}
	}
	ruleCR := func(m tbObj, names map[string]ref) tbObj {
		return tbObj{"httpMethod": m["http_method"], "pattern": m["pattern"], "metricMethodRef": names[tbJSON(m["metric_id"])].systemName,
			"increment": m["delta"], "last": m["last"]}
	}

	// The backends first: a limit or pricing rule may name their metrics.
	usageCRs := tbObj{}
	var backendCRs []any
	for _, u := range r.usages() {
		bid := tbJSON(u["backend_id"])
		b := r.backend(bid)
		name := b["system_name"].(string)
		usageCRs[name] = tbObj{"path": u["path"]}
		bm, bms := r.backendMetrics(bid)
		local := map[string]ref{}
		bMetricCRs, bMethodCRs := tbObj{}, tbObj{}
		for _, m := range bm {
			local[tbID(m)] = ref{m["system_name"].(string), name}
			bMetricCRs[m["system_name"].(string)] = tbObj{"friendlyName": m["friendly_name"], "unit": m["unit"], "description": m["description"]}
		}
		for _, m := range bms {
			local[tbID(m)] = ref{m["system_name"].(string), name}
			bMethodCRs[m["system_name"].(string)] = tbObj{"friendlyName": m["friendly_name"], "description": m["description"]}
		}
		var rules []any
		for _, m := range r.backendRules(bid) {
			rules = append(rules, ruleCR(m, local))
		}
		for id, l := range local {
			refs[id] = l
		}
		backendCRs = append(backendCRs, tbObj{"apiVersion": "capabilities.3scale.net/v1beta1", "kind": "Backend",
			"metadata": tbObj{"name": name + ".export"},
			"spec": tbObj{"name": b["name"], "systemName": name, "privateBaseURL": b["private_endpoint"], "description": b["description"],
				"mappingRules": rules, "metrics": bMetricCRs, "methods": bMethodCRs}})
	}
	metricRef := func(id any) tbObj {
		x, ok := refs[tbJSON(id)]
		require.True(g.t, ok, "metric %v", id)
		out := tbObj{"systemName": x.systemName}
		if x.backend != "" {
			out["backend"] = x.backend
		}
		return out
	}
	var rules []any
	for _, m := range r.rules() {
		rules = append(rules, ruleCR(m, refs))
	}
	plans := tbObj{}
	for _, p := range r.plans() {
		var limits, pricing []any
		for _, l := range r.limits(p) {
			limits = append(limits, tbObj{"period": l["period"], "value": l["value"], "metricMethodRef": metricRef(l["metric_id"])})
		}
		for _, pr := range r.pricingRules(p) {
			cost, err := strconv.ParseFloat(tbCostString(pr["cost_per_unit"]), 64)
			require.NoError(g.t, err)
			pricing = append(pricing, tbObj{"from": pr["min"], "to": pr["max"], "pricePerUnit": cost, "metricMethodRef": metricRef(pr["metric_id"])})
		}
		plans[p["system_name"].(string)] = tbObj{"name": p["name"], "appsRequireApproval": p["approval_required"],
			"trialPeriod": p["trial_period_days"], "setupFee": p["setup_fee"], "custom": p["custom"], "state": p["state"],
			"costMonth": p["cost_per_month"], "pricingRules": pricing, "limits": limits}
	}
	require.Equal(g.t, "1", svc["backend_version"], "the products here take user keys")
	require.Equal(g.t, "hosted", svc["deployment_option"])
	gateway := tbObj{}
	for _, k := range []string{"AuthFailed", "AuthMissing", "NoMatch", "LimitsExceeded"} {
		snake := map[string]string{"AuthFailed": "auth_failed", "AuthMissing": "auth_missing", "NoMatch": "no_match", "LimitsExceeded": "limits_exceeded"}[k]
		gateway["errorStatus"+k] = proxy["error_status_"+snake]
		gateway["errorHeaders"+k] = proxy["error_headers_"+snake]
		gateway["error"+k] = proxy["error_"+snake]
	}
	product := tbObj{"apiVersion": "capabilities.3scale.net/v1beta1", "kind": "Product",
		"metadata": tbObj{"name": svc["system_name"].(string) + ".export"},
		"spec": tbObj{"name": svc["name"], "systemName": svc["system_name"], "description": svc["description"],
			"mappingRules": rules, "metrics": metricCRs, "methods": methodCRs, "policies": r.policies(),
			"applicationPlans": plans, "backendUsages": usageCRs,
			"deployment": tbObj{"apicastHosted": tbObj{"authentication": tbObj{"userkey": tbObj{
				"authUserKey": proxy["auth_user_key"], "credentials": proxy["credentials_location"],
				"security":        tbObj{"hostHeader": proxy["hostname_rewrite"], "secretToken": proxy["secret_token"]},
				"gatewayResponse": gateway}}}}}}
	raw, err := yaml.Marshal(tbObj{"apiVersion": "v1", "kind": "List", "items": append([]any{product}, backendCRs...)})
	require.NoError(g.t, err)
	var doc tbObj
	require.NoError(g.t, yaml.Unmarshal(raw, &doc))
	return doc
}

// tbCostString is a pricing rule's cost as the gem reads it: 3scale gives
// a decimal as a string.
func tbCostString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return tbJSON(v)
}

// tbDoc is a product document as the import's CRD::Remote serves it to the
// copy: ids by position, unique across a product's and its backends'
// metrics, the proxy from the deployment.
type tbDoc struct {
	product  tbObj   // spec
	backends []tbObj // specs, id i+1
	ids      map[string]string
}

func newTBDoc(t *testing.T, doc tbObj) *tbDoc {
	require.Equal(t, "v1", doc["apiVersion"])
	require.Equal(t, "List", doc["kind"])
	d := &tbDoc{ids: map[string]string{}}
	for _, item := range doc["items"].([]any) {
		it := item.(tbObj)
		switch it["kind"] {
		case "Product":
			d.product = it["spec"].(tbObj)
		case "Backend":
			d.backends = append(d.backends, it["spec"].(tbObj))
		}
	}
	require.NotNil(t, d.product)
	return d
}

// id is the position-given id of a named thing ("metric:backend:name").
func (d *tbDoc) id(key string) json.Number {
	if _, ok := d.ids[key]; !ok {
		d.ids[key] = strconv.Itoa(len(d.ids) + 1)
	}
	return json.Number(d.ids[key])
}

func tbMap(v any) tbObj { m, _ := v.(tbObj); return m }

func (d *tbDoc) service() tbObj {
	return tbObj{"id": json.Number("1"), "name": d.product["name"], "system_name": d.product["systemName"],
		"description": d.product["description"], "deployment_option": "hosted", "backend_version": "1"}
}

func (d *tbDoc) proxy() tbObj {
	auth := tbMap(tbMap(tbMap(tbMap(d.product["deployment"])["apicastHosted"])["authentication"])["userkey"])
	out := tbObj{"credentials_location": auth["credentials"], "auth_user_key": auth["authUserKey"],
		"secret_token": tbMap(auth["security"])["secretToken"], "hostname_rewrite": tbMap(auth["security"])["hostHeader"]}
	gateway := tbMap(auth["gatewayResponse"])
	for _, k := range [][2]string{{"AuthFailed", "auth_failed"}, {"AuthMissing", "auth_missing"}, {"NoMatch", "no_match"}, {"LimitsExceeded", "limits_exceeded"}} {
		out["error_status_"+k[1]] = gateway["errorStatus"+k[0]]
		out["error_headers_"+k[1]] = gateway["errorHeaders"+k[0]]
		out["error_"+k[1]] = gateway["error"+k[0]]
	}
	for k, v := range out {
		if v == nil {
			delete(out, k)
		}
	}
	return out
}

func (d *tbDoc) metricList(spec tbObj, scope string) (metrics, methods []tbObj) {
	for name, m := range tbMap(spec["metrics"]) {
		metrics = append(metrics, tbObj{"id": d.id("metric:" + scope + ":" + name), "friendly_name": tbMap(m)["friendlyName"],
			"system_name": name, "description": tbMap(m)["description"], "unit": tbMap(m)["unit"]})
	}
	for name, m := range tbMap(spec["methods"]) {
		methods = append(methods, tbObj{"id": d.id("metric:" + scope + ":" + name), "friendly_name": tbMap(m)["friendlyName"],
			"system_name": name, "description": tbMap(m)["description"]})
	}
	return metrics, methods
}

func (d *tbDoc) ruleList(spec tbObj, scope string) []tbObj {
	var out []tbObj
	for i, r := range spec["mappingRules"].([]any) {
		m := r.(tbObj)
		out = append(out, tbObj{"id": json.Number(strconv.Itoa(i + 1)), "pattern": m["pattern"], "http_method": m["httpMethod"],
			"delta": m["increment"], "last": m["last"], "metric_id": d.id("metric:" + scope + ":" + m["metricMethodRef"].(string))})
	}
	return out
}

func (d *tbDoc) metrics() (metrics, methods []tbObj) { return d.metricList(d.product, "") }
func (d *tbDoc) rules() []tbObj                      { return d.ruleList(d.product, "") }

func (d *tbDoc) plans() []tbObj {
	var out []tbObj
	for name, p := range tbMap(d.product["applicationPlans"]) {
		pm := tbMap(p)
		out = append(out, tbObj{"id": d.id("plan:" + name), "name": pm["name"], "setup_fee": pm["setupFee"], "custom": pm["custom"],
			"state": pm["state"], "cost_per_month": pm["costMonth"], "trial_period_days": pm["trialPeriod"],
			"approval_required": pm["appsRequireApproval"], "system_name": name})
	}
	return out
}

func (d *tbDoc) planSpec(plan tbObj) tbObj {
	return tbMap(tbMap(d.product["applicationPlans"])[plan["system_name"].(string)])
}

func (d *tbDoc) metricOf(ref any) json.Number {
	r := tbMap(ref)
	backend, _ := r["backend"].(string)
	return d.id("metric:" + backend + ":" + r["systemName"].(string))
}

func (d *tbDoc) limits(plan tbObj) []tbObj {
	var out []tbObj
	for _, l := range tbItems(d.planSpec(plan)["limits"]) {
		lm := l.(tbObj)
		out = append(out, tbObj{"id": json.Number("1"), "period": lm["period"], "value": lm["value"],
			"metric_id": d.metricOf(lm["metricMethodRef"]), "plan_id": plan["id"]})
	}
	return out
}

func (d *tbDoc) pricingRules(plan tbObj) []tbObj {
	var out []tbObj
	for _, r := range tbItems(d.planSpec(plan)["pricingRules"]) {
		rm := r.(tbObj)
		out = append(out, tbObj{"id": json.Number("1"), "cost_per_unit": rm["pricePerUnit"], "min": rm["from"], "max": rm["to"],
			"metric_id": d.metricOf(rm["metricMethodRef"]), "plan_id": plan["id"]})
	}
	return out
}

func (d *tbDoc) policies() any { return d.product["policies"] }

func (d *tbDoc) usages() []tbObj {
	var out []tbObj
	for name, u := range tbMap(d.product["backendUsages"]) {
		i := slices.IndexFunc(d.backends, func(b tbObj) bool { return b["systemName"] == name })
		out = append(out, tbObj{"path": tbMap(u)["path"], "backend_id": json.Number(strconv.Itoa(i + 1))})
	}
	return out
}

func (d *tbDoc) backendSpec(id string) tbObj {
	i, err := strconv.Atoi(id)
	if err != nil || i < 1 || i > len(d.backends) {
		return nil
	}
	return d.backends[i-1]
}

func (d *tbDoc) backend(id string) tbObj {
	b := d.backendSpec(id)
	return tbObj{"id": json.Number(id), "name": b["name"], "system_name": b["systemName"], "description": b["description"],
		"private_endpoint": b["privateBaseURL"]}
}

func (d *tbDoc) backendMetrics(id string) (metrics, methods []tbObj) {
	b := d.backendSpec(id)
	return d.metricList(b, b["systemName"].(string))
}

func (d *tbDoc) backendRules(id string) []tbObj {
	b := d.backendSpec(id)
	return d.ruleList(b, b["systemName"].(string))
}

// productState is a product as the toolbox would compare two: what a copy
// carries, without ids.
func (g tbGem) productState(sid string) tbObj {
	g.t.Helper()
	r := tbRemote{g: g, sid: sid}
	svc, proxy := r.service(), r.proxy()
	metrics, methods := r.metrics()
	names := map[string]string{}
	var ms, mts, rules, usages []string
	for _, m := range metrics {
		names[tbID(m)] = m["system_name"].(string)
		ms = append(ms, fmt.Sprint(m["system_name"], "|", m["friendly_name"], "|", m["unit"], "|", m["description"]))
	}
	for _, m := range methods {
		names[tbID(m)] = m["system_name"].(string)
		mts = append(mts, fmt.Sprint(m["system_name"], "|", m["friendly_name"], "|", m["description"]))
	}
	for _, m := range r.rules() {
		rules = append(rules, fmt.Sprint(m["http_method"], " ", m["pattern"], " ", names[tbJSON(m["metric_id"])], " ", m["delta"], " ", m["last"]))
	}
	plans := tbObj{}
	for _, p := range r.plans() {
		var limits, pricing []string
		for _, l := range r.limits(p) {
			limits = append(limits, fmt.Sprint(names[tbJSON(l["metric_id"])], " ", l["period"], " ", l["value"]))
		}
		for _, pr := range r.pricingRules(p) {
			pricing = append(pricing, fmt.Sprint(names[tbJSON(pr["metric_id"])], " ", pr["min"], "-", pr["max"], " ", pr["cost_per_unit"]))
		}
		slices.Sort(limits)
		slices.Sort(pricing)
		plans[p["system_name"].(string)] = tbObj{"plan": tbWithout(p, "id", "links", "service_id", "created_at", "updated_at"),
			"limits": limits, "pricing_rules": pricing}
	}
	for _, u := range r.usages() {
		b := r.backend(tbJSON(u["backend_id"]))
		usages = append(usages, fmt.Sprint(u["path"], " ", b["private_endpoint"]))
	}
	for _, l := range [][]string{ms, mts, rules, usages} {
		slices.Sort(l)
	}
	proxyKeys := tbObj{}
	for k, v := range proxy {
		if k == "credentials_location" || k == "api_backend" || k == "secret_token" || k == "hostname_rewrite" ||
			k == "auth_user_key" || k == "auth_app_id" || k == "auth_app_key" || strings.HasPrefix(k, "error_") {
			proxyKeys[k] = v
		}
	}
	return tbObj{
		"service": tbObj{"name": svc["name"], "description": svc["description"], "backend_version": svc["backend_version"],
			"deployment_option": svc["deployment_option"]},
		"proxy": proxyKeys, "metrics": ms, "methods": mts, "mapping_rules": rules, "plans": plans,
		"policies": r.policies(), "backend_usages": usages,
	}
}

func TestToolboxProductExportImport(t *testing.T) {
	co := testenv.StartCoordinator(t)
	g := tbGem{t: t, co: co}
	sid := g.makeSource("Exported Product", "exported_product")
	src := g.productState(sid)

	doc := g.exportProduct(sid)
	items := doc["items"].([]any)
	require.Len(t, items, 2, "the product and its backend")
	backend := items[1].(tbObj)["spec"].(tbObj)
	assert.Equal(t, "https://echo.example.com:443", backend["privateBaseURL"], "the export keeps the private base URL")
	spec := items[0].(tbObj)["spec"].(tbObj)
	assert.Len(t, spec["applicationPlans"], 2)
	assert.NotEmpty(t, spec["mappingRules"])
	// A pricing rule without a maximum exports a null "to", as from
	// 3scale, where max is nil (unbounded): a 0 would be refused there as
	// less than min.
	var unbounded []any
	for _, r := range spec["applicationPlans"].(tbObj)["gold"].(tbObj)["pricingRules"].([]any) {
		if r.(tbObj)["metricMethodRef"].(tbObj)["systemName"] == "list_pets" {
			unbounded = append(unbounded, r.(tbObj)["to"])
		}
	}
	assert.Equal(t, []any{nil}, unbounded)

	// Into the same coordinator under other system names, the product's and
	// its backend's (the usage names it), as one edits the document.
	oldBackend := backend["systemName"].(string)
	backend["systemName"] = "imported_backend"
	usages := spec["backendUsages"].(tbObj)
	usages["imported_backend"] = usages[oldBackend]
	delete(usages, oldBackend)
	spec["systemName"] = "imported_product"

	tid := g.copyProduct(newTBDoc(t, doc), "imported_product")
	assert.NotEqual(t, sid, tid)
	got := g.productState(tid)
	assert.Equal(t, src, got, "the imported product")
	imported := g.serviceBySystemName("imported_product")
	require.NotNil(t, imported)
	b := tbBySystemName(g.list("/admin/api/backend_apis", nil, "backend_apis", "backend_api"), "imported_backend")
	require.NotNil(t, b, "the import makes the backend")
	assert.Equal(t, backend["name"], b["name"])
	// The backend's own metrics, methods and mapping rules came along.
	backendState := func(base string) []string {
		metrics, methods := g.metricsUnder(base)
		names := map[string]string{}
		var out []string
		for _, m := range append(metrics, methods...) {
			names[tbID(m)] = m["system_name"].(string)
			out = append(out, fmt.Sprint(m["system_name"], "|", m["friendly_name"], "|", m["description"]))
		}
		for _, r := range g.list(base+"/mapping_rules", nil, "mapping_rules", "mapping_rule") {
			out = append(out, fmt.Sprint(r["http_method"], " ", r["pattern"], " ", names[tbJSON(r["metric_id"])], " ", r["delta"]))
		}
		slices.Sort(out)
		return out
	}
	want := backendState("/admin/api/backend_apis/" + tbJSON(g.backendUsages(sid)[0]["backend_id"]))
	assert.Contains(t, want, "GET /status status 1")
	assert.Equal(t, want, backendState("/admin/api/backend_apis/"+tbID(b)))

	// Exported again, the import is the document it came from.
	again := g.exportProduct(tid)
	assert.Equal(t, spec, again["items"].([]any)[0].(tbObj)["spec"])
	assert.Equal(t, backend, again["items"].([]any)[1].(tbObj)["spec"])
}
