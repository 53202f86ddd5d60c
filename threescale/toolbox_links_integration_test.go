package threescale_test

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/3scale/3scale-porta-go-client/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// tbBackendLink is the toolbox's Helper.backend_metric_link_parser:
// link.match(/admin\/api\/backend_apis\/(\d+)\/metrics/).
var tbBackendLink = regexp.MustCompile(`admin/api/backend_apis/(\d+)/metrics`)

// tbMetricOwner is what the 3scale toolbox makes of a limit or pricing
// rule when it exports a plan (lib/3scale_toolbox/entities/limit.rb and
// pricing_rule.rb, to_hash): the product's metric or method of that id,
// else the backend API its "metric" link names (backend_from_metric_link
// parses metric_link['href'] with Helper.backend_metric_link_parser), whose
// metric or method of that id it is.
// A limit of a backend's metric without that link is the toolbox's
// NoMethodError (metric_link is nil) or "referencing to metric id ...
// which has not been found".
func (g tbGem) tbMetricOwner(product string, rated tbObj) (systemName, backend string) {
	g.t.Helper()
	id := tbJSON(rated["metric_id"])
	metrics, methods := g.metricsUnder("/admin/api/services/" + product)
	for _, m := range append(metrics, methods...) {
		if tbID(m) == id {
			return m["system_name"].(string), ""
		}
	}
	var href string
	links, _ := rated["links"].([]any)
	for _, l := range links {
		if l.(tbObj)["rel"] == "metric" {
			href, _ = l.(tbObj)["href"].(string)
		}
	}
	require.NotEmpty(g.t, href, "a backend's metric %s needs its metric link: %v", id, rated)
	match := tbBackendLink.FindStringSubmatch(href)
	require.NotNil(g.t, match, "metric link %q names no backend API", href)
	b := g.write(http.MethodGet, "/admin/api/backend_apis/"+match[1], nil, "backend_api")
	metrics, methods = g.metricsUnder("/admin/api/backend_apis/" + match[1])
	for _, m := range append(metrics, methods...) {
		if tbID(m) == id {
			return m["system_name"].(string), b["system_name"].(string)
		}
	}
	g.t.Fatalf("metric %s is not the backend API's the link names (%s)", id, href)
	return "", ""
}

// porta's UsageLimitRepresenter and PricingRuleRepresenter give each limit
// and pricing rule "links" in JSON (MetricLinksRepresenter's "metric":
// polymorphic_url([:admin, :api, metric.owner, metric]), or for a method
// [..., metric.owner, metric.parent, :methods]; the limit's "self"; the
// "plan"), and the toolbox finds a backend API's metric by that link. XML
// has none, as porta's to_xml.
func TestLimitsAndPricingRulesLinkTheirMetricForTheToolbox(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	g := tbGem{t: t, co: co}

	product := createProduct(t, cl, "Linked", client.Params{"system_name": "linked"})
	hits := productHits(t, cl, product)
	upload, err := cl.CreateProductMethod(product, hits, client.Params{"friendly_name": "Upload", "system_name": "upload"})
	require.NoError(t, err)
	b := bkBackend(t, cl, "Storage Backend")
	bHits := bkHits(t, cl, b.ID)
	rows, err := cl.CreateBackendApiMetric(b.ID, client.Params{"friendly_name": "Rows", "system_name": "rows", "unit": "row"})
	require.NoError(t, err)
	query, err := cl.CreateBackendApiMethod(b.ID, bHits.ID, client.Params{"friendly_name": "Query", "system_name": "query"})
	require.NoError(t, err)
	_, err = cl.CreateBackendapiUsage(product, client.Params{"backend_api_id": strconv.FormatInt(b.ID, 10), "path": "/store"})
	require.NoError(t, err)
	plan := createPlan(t, cl, product, client.Params{"name": "Gold", "system_name": "gold"})
	for _, m := range []int64{hits, upload.Element.ID, rows.Element.ID, query.Element.ID} {
		_, err := cl.CreateApplicationPlanLimit(plan.ID, m, client.Params{"period": "day", "value": "10"})
		require.NoError(t, err)
	}
	_, err = cl.CreateApplicationPlanPricingRule(plan.ID, rows.Element.ID, client.Params{"min": "1", "cost_per_unit": "0.5"})
	require.NoError(t, err)

	sid, pid := s64(product), s64(plan.ID)
	got := map[string]string{}
	for _, l := range g.list("/admin/api/application_plans/"+pid+"/limits", nil, "limits", "limit") {
		name, backend := g.tbMetricOwner(sid, l)
		got[name] = backend
	}
	assert.Equal(t, map[string]string{"hits": "", "upload": "", "rows": b.SystemName, "query": b.SystemName}, got)
	rules := g.list("/admin/api/application_plans/"+pid+"/pricing_rules", nil, "pricing_rules", "pricing_rule")
	require.Len(t, rules, 1)
	name, backend := g.tbMetricOwner(sid, rules[0])
	assert.Equal(t, [2]string{"rows", b.SystemName}, [2]string{name, backend})

	// porta's hrefs, in its order: metric, self, plan.
	base := co.URL
	perMetric := g.list("/admin/api/application_plans/"+pid+"/metrics/"+s64(query.Element.ID)+"/limits", nil, "limits", "limit")
	require.Len(t, perMetric, 1)
	assert.Equal(t, []any{
		tbObj{"rel": "metric", "href": base + "/admin/api/backend_apis/" + s64(b.ID) + "/metrics/" + s64(bHits.ID) + "/methods/" + s64(query.Element.ID)},
		tbObj{"rel": "self", "href": base + "/admin/api/application_plans/" + pid + "/metrics/" + s64(query.Element.ID) + "/limits/" + tbID(perMetric[0])},
		tbObj{"rel": "plan", "href": base + "/admin/api/services/" + sid + "/application_plans/" + pid},
	}, perMetric[0]["links"])
	assert.Equal(t, []any{
		tbObj{"rel": "metric", "href": base + "/admin/api/backend_apis/" + s64(b.ID) + "/metrics/" + s64(rows.Element.ID)},
		tbObj{"rel": "plan", "href": base + "/admin/api/services/" + sid + "/application_plans/" + pid},
	}, rules[0]["links"])

	status, raw := rawCall(t, co, http.MethodGet, "/admin/api/application_plans/"+pid+"/limits.xml", "", "")
	require.Equal(t, http.StatusOK, status)
	assert.False(t, strings.Contains(string(raw), "<links"), "no links in XML: %s", raw)
}
