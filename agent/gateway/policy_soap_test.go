package gateway

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// soapGateway runs chainJSON on the fixture's service (GET / adds a hit)
// with two more metrics, soap_calls and get_quote (a method of hits), and a
// plan "soap-limited" allowing 2 soap_calls a minute, whose application's
// user_key is "soap-key". It returns the metrics' ids by system name.
func soapGateway(t *testing.T, chainJSON string) (*chainGateway, *countingLedger, map[string]int64) {
	t.Helper()
	f := newGatewayFixture(t, backendUserKey)
	ids := map[string]int64{"hits": f.hits.ID}
	for _, m := range []*composition.Metric{
		{OwnerType: composition.OwnerService, OwnerID: f.svc.ID, Name: "soap_calls", SystemName: "soap_calls", FriendlyName: "SOAP calls", Unit: "hit"},
		{OwnerType: composition.OwnerService, OwnerID: f.svc.ID, ParentID: f.hits.ID, Name: "get_quote", SystemName: "get_quote", FriendlyName: "GetQuote", Unit: "hit"},
	} {
		require.NoError(t, f.tx.Create(m))
		ids[m.SystemName] = m.ID
	}
	limited := &composition.ApplicationPlan{ServiceID: f.svc.ID, Name: "soap-limited"}
	require.NoError(t, f.tx.Create(limited))
	require.NoError(t, f.tx.Create(&composition.UsageLimit{PlanID: limited.ID, MetricID: ids["soap_calls"], Period: "minute", Value: 2}))
	require.NoError(t, f.tx.Create(&composition.Application{AccountID: f.basicApp.AccountID, ServiceID: f.svc.ID,
		PlanID: limited.ID, Name: "soap", State: composition.AppLive, UserKey: "soap-key"}))
	f.proxy(t, func(p *composition.Proxy) { p.PolicyChain = policyChain(t, chainJSON) })
	up, got := echoUpstream(t, "app")
	g, base, reg := startTestGateway(t, f, up.URL, f.placement(f.basic, f.premium, limited), Config{})
	return &chainGateway{f: f, g: g, base: base, got: got, reg: reg, up: up.URL, basic: "basic-key", key: "premium-key"},
		g.ledger.(*countingLedger), ids
}

// soapChain is the soap policy with rules (a JSON array) before apicast, as
// t/apicast-policy-soap.t places it.
func soapChain(rules string) string {
	return `[{"name":"soap","version":"builtin","enabled":true,"configuration":{"mapping_rules":` + rules + `}},
		{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`
}

// t/apicast-policy-soap.t: "Test that the usage reported to backend is the
// sum of: 1) Matching the request against the service mapping rules.
// 2) Matching the SOAP action URI against the mapping rules of the policy."
// TEST 1 "SOAP action in SOAPAction header" and TEST 2 "SOAP action in
// Content-Type header" (application/soap+xml;action=...) add the rule's 2
// hits to the service rule's 1: "hits is 3". TEST 3 "SOAP action both in
// SOAPAction and Content-Type headers": "the SOAP action URI is the one
// specified in the Content-Type, because it takes precedence over the one
// in the SOAPAction header". TEST 4 "no SOAP action specified": "the usage
// reported to backend is only the associated with the service mapping
// rules".
func TestSOAPActionUsageIsAddedToTheMappingRules(t *testing.T) {
	cg, l, ids := soapGateway(t, soapChain(`[
		{"pattern":"/my_soap_action","metric_system_name":"hits","delta":2},
		{"pattern":"/in_ctype","metric_system_name":"hits","delta":2},
		{"pattern":"/in_soap_action_header","metric_system_name":"hits","delta":3}]`))
	app := cg.f.premiumApp.ID
	target := cg.base + "/?user_key=" + cg.key + "&a_param=a_value"
	for _, c := range []struct {
		name   string
		header http.Header
		hits   int64
	}{
		{"SOAPAction header", http.Header{"Soapaction": {"/my_soap_action"}}, 3},
		{"Content-Type action", http.Header{"Content-Type": {"application/soap+xml;action=/my_soap_action"}}, 3},
		{"both: the Content-Type's", http.Header{"Soapaction": {"/in_soap_action_header"},
			"Content-Type": {"application/soap+xml;action=/in_ctype"}}, 3},
		{"no action", nil, 1},
		{"another media type's action", http.Header{"Content-Type": {"text/xml;action=/my_soap_action"}}, 1},
		{"an action no rule matches", http.Header{"Soapaction": {"/other"}}, 1},
	} {
		before := l.total(app, ids["hits"])
		a := call(t, "GET", target, c.header)
		require.Equal(t, http.StatusOK, a.status, "%s: %s", c.name, a.body)
		assert.Equal(t, "app", a.body, c.name)
		assert.Equal(t, c.hits, l.total(app, ids["hits"])-before, "%s: hits added", c.name)
	}
	assert.Equal(t, 3.0, policyEvents(cg.reg, "soap", "matched"))
}

// soap_spec.lua: the Content-Type's action with other params, "upper-case
// chars or spaces" (Application/SOAP+xml, Action=, a quoted value, spaces
// around ';') all add the rule's usage; "and the action is a full URL"
// (http://www.example.com:80/path/to/myfile.html?key1=...#...) is matched
// by its path against a pattern whose query part is left out. The policy's
// patterns are prefixes, '$' ends one and {placeholders} stand for a
// segment, as mapping rules' do; a URN has no path and counts nothing.
func TestSOAPActionForms(t *testing.T) {
	cg, l, ids := soapGateway(t, soapChain(`[
		{"pattern":"/soap_action_ctype$","metric_system_name":"soap_calls","delta":20},
		{"pattern":"/path/to/myfile.html?key1=value1&key2=value2#SomewhereInTheDocument","metric_system_name":"soap_calls","delta":30},
		{"pattern":"/quotes/{symbol}/price$","metric_system_name":"get_quote","delta":1}]`))
	app := cg.f.premiumApp.ID
	target := cg.base + "/?user_key=" + cg.key
	for _, c := range []struct {
		ct   string
		want int64
	}{
		{"application/soap+xml;a_param=x;action=/soap_action_ctype;another_param=y", 20},
		{"Application/SOAP+xml;action=/soap_action_ctype", 20},
		{"application/soap+xml;Action=/soap_action_ctype", 20},
		{`application/soap+xml;action="/soap_action_ctype"`, 20},
		{"application/soap+xml; action=/soap_action_ctype; a_param=x", 20},
		{"application/soap+xml;action=/soap_action_ctype/more", 0}, // '$': not a prefix
		{"application/soap+xml;action=http://www.example.com:80/path/to/myfile.html?key1=value1&key2=value2#SomewhereInTheDocument", 30},
		{"application/soap+xml;action=urn:example:path:to:myfile.html", 0},
	} {
		before := l.total(app, ids["soap_calls"])
		a := call(t, "GET", target, http.Header{"Content-Type": {c.ct}})
		require.Equal(t, http.StatusOK, a.status, "%s: %s", c.ct, a.body)
		assert.Equal(t, c.want, l.total(app, ids["soap_calls"])-before, "soap_calls added for %s", c.ct)
	}

	// A method's usage counts to its parent too, as a mapping rule's does.
	hits, quotes := l.total(app, ids["hits"]), l.total(app, ids["get_quote"])
	a := call(t, "GET", target, http.Header{"Soapaction": {"https://quotes.example.com/quotes/RHT/price"}})
	require.Equal(t, http.StatusOK, a.status, a.body)
	assert.Equal(t, int64(1), l.total(app, ids["get_quote"])-quotes, "the placeholder rule matched")
	assert.Equal(t, int64(2), l.total(app, ids["hits"])-hits, "GET /'s hit and get_quote's parent hit")
}

// APIcast answers "No Mapping Rule matched" when the usage to authorize
// is empty (proxy.lua's authorize: errors.no_match on an empty encoded
// usage), after the SOAP policy merged its own into it: a SOAP request no
// rule of the service matches (the fixture's rule is GET /, this is a
// POST) is served and counted; without an action it is no match.
func TestSOAPUsageServesARequestNoServiceRuleMatches(t *testing.T) {
	cg, l, ids := soapGateway(t, soapChain(`[{"pattern":"/GetQuote","metric_system_name":"get_quote","delta":1}]`))
	app := cg.f.premiumApp.ID
	target := cg.base + "/?user_key=" + cg.key
	a := call(t, "POST", target, http.Header{"Soapaction": {"/GetQuote"}})
	require.Equal(t, http.StatusOK, a.status, a.body)
	assert.Equal(t, int64(1), l.total(app, ids["get_quote"]))
	assert.Equal(t, int64(1), l.total(app, ids["hits"]), "the method's parent")

	a = call(t, "POST", target, nil)
	assert.Equal(t, http.StatusNotFound, a.status, a.body)
	assert.Equal(t, "No Mapping Rule matched\n", a.body)
}

// The schema: the usage is calculated "so it can be authorized and
// reported against 3scale's backend". A plan limit on the SOAP rule's
// metric refuses the request once reached, as a mapping rule's usage is
// refused: 2 soap_calls a minute serve two SOAP requests, the third gets
// the plan's 429; a request without a SOAP action adds no soap_calls and
// is still served.
func TestSOAPUsageCountsAgainstPlanLimits(t *testing.T) {
	freshMinute(t)
	cg, l, ids := soapGateway(t, soapChain(`[{"pattern":"/Buy","metric_system_name":"soap_calls","delta":1}]`))
	target := cg.base + "/?user_key=soap-key"
	soapAction := http.Header{"Soapaction": {"/Buy"}}
	for i := range 2 {
		a := call(t, "GET", target, soapAction)
		require.Equal(t, http.StatusOK, a.status, "SOAP request %d: %s", i+1, a.body)
	}
	a := call(t, "GET", target, soapAction)
	assert.Equal(t, http.StatusTooManyRequests, a.status, a.body)
	assert.Equal(t, "Usage limit exceeded\n", a.body)
	assert.NotEmpty(t, a.header.Values("Retry-After"), "the minute's limit refused it")
	assert.Equal(t, 1.0, requests(cg.reg, "limits_exceeded"))

	a = call(t, "GET", target, nil)
	assert.Equal(t, http.StatusOK, a.status, "no SOAP action, no soap_calls: %s", a.body)
	var app int64
	for _, x := range cg.f.tx.View().Applications.All() {
		if x.UserKey == "soap-key" {
			app = x.ID
		}
	}
	assert.Equal(t, int64(2), l.total(app, ids["soap_calls"]), "the refused request counted nothing")
	assert.Equal(t, int64(3), l.total(app, ids["hits"]))
}

// A rule naming a metric the service does not have: apisonator refuses
// the authrep (metric_invalid), which APIcast answers as "authorization
// failed". Requests whose action does not match that rule are served.
func TestSOAPUnknownMetricFailsAuthorization(t *testing.T) {
	cg, l, ids := soapGateway(t, soapChain(`[{"pattern":"/Sell","metric_system_name":"no_such_metric","delta":1}]`))
	target := cg.base + "/?user_key=" + cg.key
	a := call(t, "GET", target, http.Header{"Soapaction": {"/Sell"}})
	assert.Equal(t, http.StatusForbidden, a.status, a.body)
	assert.Equal(t, "Authentication failed\n", a.body)
	assert.Equal(t, int64(0), l.total(cg.f.premiumApp.ID, ids["hits"]), "nothing counted")

	a = call(t, "GET", target, http.Header{"Soapaction": {"/Buy"}})
	assert.Equal(t, http.StatusOK, a.status, a.body)
}

// The schema: a mapping rule requires pattern, metric_system_name and
// delta, an integer. A chain with a bad one fails closed naming the policy
// and the field.
func TestSOAPInvalidConfigurationFailsClosed(t *testing.T) {
	for conf, want := range map[string]string{
		`{"mapping_rules":[{"metric_system_name":"hits","delta":1}]}`:                  `configuration.mapping_rules[0].pattern: is required`,
		`{"mapping_rules":[{"pattern":"/a","delta":1}]}`:                               `configuration.mapping_rules[0].metric_system_name: is required`,
		`{"mapping_rules":[{"pattern":"/a","metric_system_name":"hits","delta":"2"}]}`: `configuration.mapping_rules.delta: must be an integer`,
		`{"mapping_rules":[{"pattern":"/a{","metric_system_name":"hits","delta":1}]}`:  `configuration.mapping_rules[0].pattern: invalid mapping rule pattern`,
		`{"mapping_rules":{"pattern":"/a"}}`:                                           `configuration.mapping_rules: must be an array`,
		`{"mapping_rules":[{"pattern":"/a","metric_system_name":"hits","delta":1.5}]}`: `configuration.mapping_rules.delta: must be an integer`,
	} {
		cg := startChainGateway(t, `[{"name":"soap","version":"builtin","configuration":`+conf+`,"enabled":true}]`)
		a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
		assert.Equal(t, http.StatusServiceUnavailable, a.status, conf)
		assert.Contains(t, a.body, `policy "soap" (element 0 of the chain)`, conf)
		assert.Contains(t, a.body, want, conf)
	}
}
