package gateway

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// customMetricsGateway runs chainJSON on a service that has, besides hits,
// the metrics hits_200 and errors; it returns them with the gateway and its
// ledger.
func customMetricsGateway(t *testing.T, chainJSON string) (*chainGateway, *countingLedger, map[string]int64) {
	t.Helper()
	f := newGatewayFixture(t, backendUserKey)
	ids := map[string]int64{"hits": f.hits.ID}
	for _, name := range []string{"hits_200", "errors"} {
		m := &composition.Metric{OwnerType: composition.OwnerService, OwnerID: f.svc.ID, Name: name, SystemName: name, FriendlyName: name, Unit: "hit"}
		require.NoError(t, f.tx.Create(m))
		ids[name] = m.ID
	}
	f.proxy(t, func(p *composition.Proxy) { p.PolicyChain = policyChain(t, chainJSON) })
	up, got := echoUpstream(t, "app")
	g, base, reg := startTestGateway(t, f, up.URL, f.placement(f.basic, f.premium), Config{})
	return &chainGateway{f: f, g: g, base: base, got: got, reg: reg, up: up.URL, basic: "basic-key", key: "premium-key"},
		g.ledger.(*countingLedger), ids
}

// total is the count of metric for app across the ledger's minutes.
func (l *countingLedger) total(app, metric int64) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var n int64
	for _, c := range l.counts[[2]int64{app, metric}] {
		n += c
	}
	return n
}

// The README's second example: "Increment the hits metric with the
// information status_code information if the Upstream API return a 200
// status": metric "hits_{{status}}", increment "1", condition
// {{status}} == 200. A 200 adds one hit of hits_200 for the application in
// the ledger; the rule counting errors on a 400 adds nothing.
func TestCustomMetricsCountsTheRuleMetricAfterA200(t *testing.T) {
	cg, l, ids := customMetricsGateway(t, `[{"name":"custom_metrics","version":"builtin","enabled":true,"configuration":{"rules":[
		{"metric":"hits_{{status}}","increment":"1","condition":{"combine_op":"and","operations":[{"left":"{{status}}","left_type":"liquid","op":"==","right":"200"}]}},
		{"metric":"errors","increment":"{{ resp.headers['X-Served-By'] }}","condition":{"combine_op":"and","operations":[{"right":"{{status}}","right_type":"liquid","left":"400","op":"=="}]}}
	]}},{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`)
	app := cg.f.premiumApp.ID
	for range 3 {
		a := call(t, "GET", cg.base+"/articles?user_key="+cg.key, nil)
		require.Equal(t, http.StatusOK, a.status, a.body)
	}
	// The log phase runs after the answer is sent: wait for it.
	require.Eventually(t, func() bool { return l.total(app, ids["hits_200"]) == 3 }, 2e9, 1e7,
		"three 200s add three hits_200, got %d", l.total(app, ids["hits_200"]))
	assert.Equal(t, int64(3), l.total(app, ids["hits"]), "the mapping rule's own hits, unchanged")
	assert.Equal(t, int64(0), l.total(app, ids["errors"]), "no 400: the errors rule counts nothing")
	assert.Equal(t, 3.0, policyEvents(cg.reg, "custom_metrics", "counted"))

	// A request the apicast element refused authenticates no application:
	// nothing is counted.
	assert.Equal(t, http.StatusForbidden, call(t, "GET", cg.base+"/articles?user_key=nobody", nil).status)
	assert.Equal(t, int64(3), l.total(app, ids["hits_200"]))
}

// The increment is Liquid: a response header read with resp.headers, a
// "matches" operation on it, and an "or" of operations.
func TestCustomMetricsIncrementFromAResponseHeader(t *testing.T) {
	cg, l, ids := customMetricsGateway(t, `[{"name":"custom_metrics","version":"builtin","enabled":true,"configuration":{"rules":[
		{"metric":"errors","increment":"{{ resp.headers['X-Count'] }}","condition":{"combine_op":"or","operations":[
			{"left":"{{status}}","left_type":"liquid","op":"==","right":"500"},
			{"left":"{{ resp.headers['X-Served-By'] }}","left_type":"liquid","op":"matches","right":"^ap+$"}]}}
	]}},{"name":"headers","version":"builtin","enabled":false,"configuration":{}},{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`)
	a := call(t, "GET", cg.base+"/articles?user_key="+cg.key, nil)
	require.Equal(t, http.StatusOK, a.status, a.body)
	// The echo upstream sends no X-Count: the increment is empty, skipped.
	require.Eventually(t, func() bool { return policyEvents(cg.reg, "custom_metrics", "skipped") == 1 }, 2e9, 1e7)
	assert.Equal(t, int64(0), l.total(cg.f.premiumApp.ID, ids["errors"]))
}

// The schema: a rule requires metric, increment and condition; op is one
// of ==, !=, matches. A chain that slipped in invalid fails closed naming
// the policy and the field.
func TestCustomMetricsInvalidConfigurationFailsClosed(t *testing.T) {
	for conf, want := range map[string]string{
		`{"rules":[{"increment":"1","condition":{"combine_op":"and","operations":[{"left":"a","op":"==","right":"a"}]}}]}`:             `configuration.rules[0].metric: is required`,
		`{"rules":[{"metric":"m","increment":"1","condition":{"combine_op":"and","operations":[{"left":"a","op":"<","right":"a"}]}}]}`: `configuration.rules[0].condition.operations[0].op: must be one of ==, !=, matches`,
		`{"rules":"all"}`: `configuration.rules: must be an array`,
	} {
		cg := startChainGateway(t, `[{"name":"custom_metrics","version":"builtin","configuration":`+conf+`,"enabled":true}]`)
		a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
		assert.Equal(t, http.StatusServiceUnavailable, a.status, conf)
		assert.Contains(t, a.body, `policy "custom_metrics" (element 0 of the chain)`, conf)
		assert.Contains(t, a.body, want, conf)
	}
}

func BenchmarkPolicyCustomMetrics(b *testing.B) {
	benchServeChain(b, `[{"name":"custom_metrics","version":"builtin","enabled":true,"configuration":{"rules":[
		{"metric":"hits","increment":"1","condition":{"combine_op":"and","operations":[{"left":"{{status}}","left_type":"liquid","op":"==","right":"200"}]}}]}},
		{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`)
}

// A backend's metric is named in 3scale's configs as APIcast names it,
// system name, a dot and the backend's id ("hits.20"): custom_metrics
// counts it by that name too.
func TestCustomMetricsCountsABackendMetricByItsExtendedName(t *testing.T) {
	f := newGatewayFixture(t, backendUserKey)
	b := &composition.BackendAPI{Name: "Store", PrivateEndpoint: "http://store.example:80"}
	require.NoError(t, f.tx.Create(b))
	storeHits, ok := f.tx.View().Hits(composition.OwnerBackendAPI, b.ID)
	require.True(t, ok)
	require.NoError(t, f.tx.Create(&composition.BackendUsage{ServiceID: f.svc.ID, BackendAPIID: b.ID, Path: "/store"}))
	f.proxy(t, func(p *composition.Proxy) {
		p.PolicyChain = policyChain(t, `[{"name":"custom_metrics","version":"builtin","enabled":true,"configuration":{"rules":[
			{"metric":"hits.`+strconv.FormatInt(b.ID, 10)+`","increment":"2","condition":{"combine_op":"and","operations":[{"left":"{{status}}","left_type":"liquid","op":"==","right":"200"}]}}
		]}},{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`)
	})
	up, _ := echoUpstream(t, "app")
	g, base, _ := startTestGateway(t, f, up.URL, f.placement(f.basic, f.premium), Config{})
	l := g.ledger.(*countingLedger)
	a := call(t, "GET", base+"/articles?user_key=premium-key", nil)
	require.Equal(t, http.StatusOK, a.status, a.body)
	require.Eventually(t, func() bool { return l.total(f.premiumApp.ID, storeHits.ID) == 2 }, 2e9, 1e7,
		"the backend's hits by its extended name, got %d", l.total(f.premiumApp.ID, storeHits.ID))
}
