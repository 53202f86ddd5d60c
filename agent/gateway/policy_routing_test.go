package gateway

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/agent/gateway/policy"
	"github.com/portolan/portolan/composition"
)

// routeGateway is a chain gateway (see startChainGateway) built for
// benchmarks too, with a hook to change the fixture before it starts.
func startRouteGateway(tb testing.TB, chainJSON string, edit func(f *gatewayFixture)) *chainGateway {
	tb.Helper()
	return startRouteGatewayTo(tb, chainJSON, edit, "")
}

// startRouteGatewayTo is startRouteGateway with the service's upstream at
// upstreamURL ("": an echo upstream, "app").
func startRouteGatewayTo(tb testing.TB, chainJSON string, edit func(f *gatewayFixture), upstreamURL string) *chainGateway {
	tb.Helper()
	f := newGatewayFixture(tb, backendUserKey)
	p, ok := f.tx.View().Proxies.Get(f.svc.ID)
	require.True(tb, ok)
	n := *p
	n.PolicyChain = policyChain(tb, chainJSON)
	require.NoError(tb, f.tx.Update(&n))
	if edit != nil {
		edit(f)
	}
	var got chan *http.Request
	if upstreamURL == "" {
		var up *httptest.Server
		up, got = echoUpstream(tb, "app")
		upstreamURL = up.URL
	}
	g, base, reg := startTestGateway(tb, f, upstreamURL, f.placement(f.basic, f.premium), Config{})
	return &chainGateway{f: f, g: g, base: base, got: got, reg: reg, up: upstreamURL, basic: "basic-key", key: "premium-key"}
}

// benchPolicy drives the gateway's request path in process with chainJSON
// (the policy in front of apicast), as BenchmarkGatewayRequest does, and
// its baseline, apicast alone, in the same run. Each request is a clone, as
// policies rewrite it.
func benchPolicy(b *testing.B, chainJSON, target string) {
	for _, bc := range []struct{ name, chain string }{
		{"apicast", `[{"name":"apicast","version":"builtin","enabled":true,"configuration":{}}]`},
		{"policy", chainJSON},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cg := startRouteGateway(b, bc.chain, nil)
			go func() { // the echo upstream reports each request: drain it
				for range cg.got {
				}
			}()
			req := httptest.NewRequest(http.MethodGet, target, nil)
			w := &discardResponse{h: http.Header{}}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				clear(w.h)
				cg.g.ServeHTTP(w, req.Clone(req.Context()))
			}
		})
	}
}

// routingChain is a routing policy with rules, then apicast.
func routingChain(rules string) string {
	return `[{"name":"routing","version":"builtin","enabled":true,"configuration":{"rules":` + rules + `}},
		{"name":"apicast","version":"builtin","enabled":true,"configuration":{}}]`
}

// routeOther starts a second echo upstream, "other".
func routeOther(t testing.TB) (*httptest.Server, chan *http.Request) { return echoUpstream(t, "other") }

// README "Rule that uses the request path": "routes to http://example.com
// when the path is /accounts"; other paths go to the service's upstream.
func TestRoutingByPathRoutesToTheRuleURLElseTheService(t *testing.T) {
	other, got := routeOther(t)
	cg := startRouteGateway(t, routingChain(`[{"url":"`+other.URL+`","condition":{"operations":[{"match":"path","op":"==","value":"/accounts"}]}}]`), nil)
	a := call(t, "GET", cg.base+"/accounts?user_key="+cg.key, nil)
	require.Equal(t, http.StatusOK, a.status)
	assert.Equal(t, "other", a.body)
	r := <-got
	assert.Equal(t, "/accounts", r.URL.Path, "the path is kept")
	assert.Equal(t, other.Listener.Addr().String(), r.Host, "Host: the rule URL's host")
	assert.Equal(t, 1.0, policyEvents(cg.reg, "routing", "routed"))

	a = call(t, "GET", cg.base+"/users?user_key="+cg.key, nil)
	assert.Equal(t, "app", a.body, "no rule matched: the service's upstream")
}

// Schema, owner_id: "Value to only increment hits on the mapping rules
// owner by the same id." APIcast (mapping_rules_matcher's
// clean_usage_by_owner_id) subtracts the deltas of the matched rules that
// belong to another backend API; the product's own rules keep theirs.
func TestRoutingOwnerIDCountsOnlyThatBackendsRules(t *testing.T) {
	other, _ := routeOther(t)
	var backA *composition.BackendAPI
	var hitsA, hitsB *composition.Metric
	cg := startRouteGateway(t, `[{"name":"apicast","version":"builtin","enabled":true,"configuration":{}}]`, func(f *gatewayFixture) {
		backend := func(name, path string, delta int64) (*composition.BackendAPI, *composition.Metric) {
			b := &composition.BackendAPI{Name: name, PrivateEndpoint: "http://backend-" + name + ".example:80"}
			require.NoError(t, f.tx.Create(b))
			hits, ok := f.tx.View().Hits(composition.OwnerBackendAPI, b.ID)
			require.True(t, ok)
			require.NoError(t, f.tx.Create(&composition.BackendUsage{ServiceID: f.svc.ID, BackendAPIID: b.ID, Path: path}))
			require.NoError(t, f.tx.Create(&composition.MappingRule{OwnerType: composition.OwnerBackendAPI, OwnerID: b.ID,
				MetricID: hits.ID, HTTPMethod: "GET", Pattern: "/", Delta: delta}))
			return b, hits
		}
		// Both backends' rules match /a: A's as "/" under "/", B's under "/a".
		backA, hitsA = backend("A", "/", 2)
		_, hitsB = backend("B", "/a", 3)
		p, ok := f.tx.View().Proxies.Get(f.svc.ID)
		require.True(t, ok)
		n := *p
		n.PolicyChain = policyChain(t, routingChain(`[{"url":"`+other.URL+`","owner_id":`+strconv.FormatInt(backA.ID, 10)+
			`,"owner_type":"BackendApi","condition":{"operations":[{"match":"path","op":"==","value":"/a"}]}}]`))
		require.NoError(t, f.tx.Update(&n))
	})
	count := func(metric *composition.Metric) int64 {
		l := cg.g.ledger.(*countingLedger)
		l.mu.Lock()
		defer l.mu.Unlock()
		var n int64
		for _, c := range l.counts[[2]int64{cg.f.premiumApp.ID, metric.ID}] {
			n += c
		}
		return n
	}

	assert.Equal(t, "other", call(t, "GET", cg.base+"/a?user_key="+cg.key, nil).body)
	assert.EqualValues(t, 2, count(hitsA), "the route's backend counts")
	assert.Zero(t, count(hitsB), "another backend's matching rule does not")
	assert.EqualValues(t, 1, count(cg.f.hits), "the product's own rule counts")

	// No rule of the chain chose /a/b: it belongs to B, mounted at /a, as
	// porta's routing policy for backends under sub paths (ahead of the
	// product's own rules) would route it; A's matching rule adds nothing.
	assert.Equal(t, "app", call(t, "GET", cg.base+"/a/b?user_key="+cg.key, nil).body)
	assert.EqualValues(t, 2, count(hitsA), "the path's backend counts, not the root's")
	assert.EqualValues(t, 3, count(hitsB))
}

// README "Rule that uses a header": "routes to http://example.com when the
// value of the header Test-Header is 123".
func TestRoutingByHeader(t *testing.T) {
	other, _ := routeOther(t)
	cg := startRouteGateway(t, routingChain(`[{"url":"`+other.URL+`","condition":{"operations":[{"match":"header","header_name":"Test-Header","op":"==","value":"123"}]}}]`), nil)
	assert.Equal(t, "other", call(t, "GET", cg.base+"/?user_key="+cg.key, http.Header{"Test-Header": {"123"}}).body)
	assert.Equal(t, "app", call(t, "GET", cg.base+"/?user_key="+cg.key, http.Header{"Test-Header": {"124"}}).body)
	assert.Equal(t, "app", call(t, "GET", cg.base+"/?user_key="+cg.key, nil).body)
}

// README "Rule that uses a query argument": "when the value of the query
// argument test_query_arg is 123".
func TestRoutingByQueryArg(t *testing.T) {
	other, _ := routeOther(t)
	cg := startRouteGateway(t, routingChain(`[{"url":"`+other.URL+`","condition":{"operations":[{"match":"query_arg","query_arg_name":"test_query_arg","op":"==","value":"1 2"}]}}]`), nil)
	assert.Equal(t, "other", call(t, "GET", cg.base+"/?test_query_arg=1+2&user_key="+cg.key, nil).body)
	assert.Equal(t, "app", call(t, "GET", cg.base+"/?test_query_arg=12&user_key="+cg.key, nil).body)
}

// README "Supported operations": "==, !=, and matches. The latter matches a
// string with a regular expression"; "uses !=. It routes to
// http://example.com when the path is not /accounts".
func TestRoutingOperationsNotEqualAndMatches(t *testing.T) {
	other, _ := routeOther(t)
	cg := startRouteGateway(t, routingChain(`[{"url":"`+other.URL+`","condition":{"operations":[{"match":"path","op":"!=","value":"/accounts"}]}}]`), nil)
	assert.Equal(t, "app", call(t, "GET", cg.base+"/accounts?user_key="+cg.key, nil).body)
	assert.Equal(t, "other", call(t, "GET", cg.base+"/users?user_key="+cg.key, nil).body)

	cg = startRouteGateway(t, routingChain(`[{"url":"`+other.URL+`","condition":{"operations":[{"match":"path","op":"matches","value":"^/v[0-9]+/"}]}}]`), nil)
	assert.Equal(t, "other", call(t, "GET", cg.base+"/v2/users?user_key="+cg.key, nil).body)
	assert.Equal(t, "app", call(t, "GET", cg.base+"/users/v2/?user_key="+cg.key, nil).body)
}

// README "Rule with several operations": all with 'and' (the default), at
// least one with 'or'.
func TestRoutingCombineOp(t *testing.T) {
	other, _ := routeOther(t)
	ops := `[{"match":"path","op":"==","value":"/accounts"},{"match":"header","header_name":"Test-Header","op":"==","value":"123"}]`
	h := http.Header{"Test-Header": {"123"}}
	cg := startRouteGateway(t, routingChain(`[{"url":"`+other.URL+`","condition":{"operations":`+ops+`}}]`), nil)
	assert.Equal(t, "other", call(t, "GET", cg.base+"/accounts?user_key="+cg.key, h).body)
	assert.Equal(t, "app", call(t, "GET", cg.base+"/accounts?user_key="+cg.key, nil).body, "and: one false")
	assert.Equal(t, "app", call(t, "GET", cg.base+"/users?user_key="+cg.key, h).body, "and: one false")

	cg = startRouteGateway(t, routingChain(`[{"url":"`+other.URL+`","condition":{"combine_op":"or","operations":`+ops+`}}]`), nil)
	assert.Equal(t, "other", call(t, "GET", cg.base+"/accounts?user_key="+cg.key, nil).body)
	assert.Equal(t, "other", call(t, "GET", cg.base+"/users?user_key="+cg.key, h).body)
	assert.Equal(t, "app", call(t, "GET", cg.base+"/users?user_key="+cg.key, nil).body)
}

// README "Combining rules": "the upstream selected is the one of the first
// rule that evaluates to true"; "Catch-all rules": "A rule without
// operations always matches".
func TestRoutingFirstMatchingRuleWinsAndCatchAll(t *testing.T) {
	other, _ := routeOther(t)
	third, _ := echoUpstream(t, "third")
	cg := startRouteGateway(t, routingChain(`[
		{"url":"`+other.URL+`","condition":{"operations":[{"match":"path","op":"matches","value":"^/a"}]}},
		{"url":"`+third.URL+`","condition":{"operations":[{"match":"path","op":"matches","value":"^/ab"}]}},
		{"url":"`+third.URL+`","condition":{"operations":[]}}]`), nil)
	assert.Equal(t, "other", call(t, "GET", cg.base+"/abc?user_key="+cg.key, nil).body)
	assert.Equal(t, "third", call(t, "GET", cg.base+"/zzz?user_key="+cg.key, nil).body, "the catch-all")
}

// README "Set the host used in the Host header": host_header replaces the
// URL's host in the Host header, not the service's hostname_rewrite; the
// secret token and X-Forwarded-For are sent as to the service's upstream.
func TestRoutingHostHeaderAndSecretToken(t *testing.T) {
	other, got := routeOther(t)
	cg := startRouteGateway(t, routingChain(`[{"url":"`+other.URL+`","host_header":"some_host.com","condition":{"operations":[]}}]`), func(f *gatewayFixture) {
		p, _ := f.tx.View().Proxies.Get(f.svc.ID)
		n := *p
		n.HostnameRewrite = "news.internal"
		n.SecretToken = "s3cret"
		require.NoError(t, f.tx.Update(&n))
	})
	a := call(t, "GET", cg.base+"/x?user_key="+cg.key, http.Header{"X-Forwarded-For": {"10.0.0.1"}})
	require.Equal(t, "other", a.body)
	r := <-got
	assert.Equal(t, "some_host.com", r.Host)
	assert.Equal(t, "s3cret", r.Header.Get(secretTokenHeader))
	assert.Equal(t, "10.0.0.1, 127.0.0.1", r.Header.Get("X-Forwarded-For"))
}

// Schema: "replace_path": "Liquid filter to modify the request path to the
// matched Upstream URL"; the URL's path prefixes it, as APIcast's Upstream
// joins them. The mapping rules still match the request's own path.
func TestRoutingReplacePathAndURLPath(t *testing.T) {
	other, got := routeOther(t)
	cg := startRouteGateway(t, routingChain(`[{"url":"`+other.URL+`/base","replace_path":"/users/{{ headers['X-User'] }}","condition":{"operations":[{"match":"path","op":"==","value":"/me"}]}},
		{"url":"`+other.URL+`/base/","condition":{"operations":[]}}]`), nil)
	require.Equal(t, "other", call(t, "GET", cg.base+"/me?user_key="+cg.key, http.Header{"X-User": {"ann"}}).body)
	r := <-got
	assert.Equal(t, "/base/users/ann", r.URL.Path)
	assert.Equal(t, "user_key="+cg.key, r.URL.RawQuery)

	require.Equal(t, "other", call(t, "GET", cg.base+"/items/1?user_key="+cg.key, nil).body)
	assert.Equal(t, "/base/items/1", (<-got).URL.Path, "the URL's path prefixes the request's")
}

// README "Rule that uses a jwt claim": "routes to http://example.com when
// the value of the jwt claim test_claim is 123" (the claims of a validated
// token, ctx.JWT, which OpenID Connect sets: here set by hand on a chain of
// the routing policy alone).
func TestRoutingByJWTClaim(t *testing.T) {
	chain := policyChain(t, `[{"name":"routing","version":"builtin","enabled":true,"configuration":{"rules":[
		{"url":"http://claims.example:8080","condition":{"operations":[{"match":"jwt_claim","jwt_claim_name":"test_claim","op":"==","value":"123"}]}},
		{"url":"http://roles.example","condition":{"operations":[{"match":"jwt_claim","jwt_claim_name":"role","op":"matches","value":"^admin"}]}}]}}]`)
	c, err := policy.Build(chain, nil, &policy.Env{Metrics: policy.NewMetrics(prometheus.NewRegistry())})
	require.NoError(t, err)
	route := func(claims map[string]any) string {
		var ctx policy.Context
		c.Acquire(&ctx, httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
		ctx.JWT = claims
		chosen := ""
		c.Serve(&ctx, policy.ForwarderFunc(func(ctx *policy.Context) {
			if ctx.Upstream != nil {
				chosen = ctx.Upstream.URL.String() + " Host: " + ctx.Upstream.Host
			}
		}))
		return chosen
	}
	assert.Equal(t, "http://claims.example:8080 Host: claims.example:8080", route(map[string]any{"test_claim": "123"}))
	assert.Equal(t, "http://claims.example:8080 Host: claims.example:8080", route(map[string]any{"test_claim": 123.0}), "a number claim compares as its text, as Lua's tostring")
	assert.Equal(t, "http://roles.example Host: roles.example", route(map[string]any{"test_claim": "1234", "role": "administrator"}))
	assert.Equal(t, "", route(map[string]any{"test_claim": "1"}))
	assert.Equal(t, "", route(nil), "no token: no claim")
}

// The manifest: the routing policy routes "based on its path, its query
// arguments, a header, or a JWT claim" and "should be placed before" the
// APIcast policy; APIcast's routing.lua chooses the rule in the access
// phase, after the APIcast policy's rewrite phase verified the token. So on
// an OpenID Connect service with [routing, apicast], a jwt_claim rule sees
// the claims of the request's token: README "Rule that uses a jwt claim".
func TestRoutingByJWTClaimOfAnOIDCTokenWithRoutingBeforeAPIcast(t *testing.T) {
	other, otherGot := routeOther(t)
	og := startOIDCGateway(t, routingChain(`[{"url":"`+other.URL+`","condition":{"operations":[
		{"match":"jwt_claim","jwt_claim_name":"test_claim","op":"==","value":"123"}]}}]`), nil, nil)
	claims := og.iss.Claims("premium-key")
	claims["test_claim"] = "123"
	a := call(t, "GET", og.base+"/articles", bearerHeader(og.iss.Token(t, "RS256", claims)))
	require.Equal(t, http.StatusOK, a.status, a.body)
	require.Equal(t, "other", a.body, "the claim routes to the rule's URL")
	assert.Equal(t, "/articles", (<-otherGot).URL.Path)
	claims["test_claim"] = "456"
	a = call(t, "GET", og.base+"/articles", bearerHeader(og.iss.Token(t, "RS256", claims)))
	assert.Equal(t, "app", a.body, "another claim value: the service's upstream")
	assert.EqualValues(t, 2, og.hits(og.f.premiumApp), "both counted against the token's application")
}

// The configuration is checked as the schema says; an error names the
// field, and the service fails closed.
func TestRoutingConfigErrorsNameTheField(t *testing.T) {
	for conf, field := range map[string]string{
		`{"rules":[{"condition":{}}]}`:                                    "rules[0].url",
		`{"rules":[{"url":"ftp://x"}]}`:                                   "rules[0].url",
		`{"rules":[{"url":"http://x","condition":{"combine_op":"xor"}}]}`: "rules[0].condition.combine_op",
		`{"rules":[{"url":"http://x","condition":{"operations":[{"match":"cookie","op":"==","value":"1"}]}}]}`:        "rules[0].condition.operations[0].match",
		`{"rules":[{"url":"http://x","condition":{"operations":[{"match":"path","op":"<","value":"1"}]}}]}`:           "rules[0].condition.operations[0].op",
		`{"rules":[{"url":"http://x","condition":{"operations":[{"match":"header","op":"==","value":"1"}]}}]}`:        "rules[0].condition.operations[0].header_name",
		`{"rules":[{"url":"http://x","condition":{"operations":[{"match":"path","op":"matches","value":"(?=a)"}]}}]}`: "rules[0].condition.operations[0].value",
	} {
		chain := policyChain(t, `[{"name":"routing","version":"builtin","enabled":true,"configuration":`+conf+`}]`)
		_, err := policy.Build(chain, nil, &policy.Env{Metrics: policy.NewMetrics(prometheus.NewRegistry())})
		var fe *policy.FieldError
		if assert.ErrorAs(t, err, &fe, conf) {
			assert.Equal(t, field, fe.Field, conf)
		}
	}
	cg := startRouteGateway(t, `[{"name":"routing","version":"builtin","enabled":true,"configuration":{"rules":[{"condition":{}}]}}]`, nil)
	a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusServiceUnavailable, a.status)
	assert.Contains(t, a.body, "rules[0].url")
}

func BenchmarkPolicyRouting(b *testing.B) {
	other, got := echoUpstream(b, "other")
	go func() {
		for range got {
		}
	}()
	benchPolicy(b, routingChain(`[{"url":"`+other.URL+`","condition":{"operations":[{"match":"header","header_name":"Test-Header","op":"==","value":"123"}]}},
		{"url":"`+other.URL+`","condition":{"operations":[{"match":"path","op":"==","value":"/health"}]}}]`), "/health?user_key=premium-key")
}
