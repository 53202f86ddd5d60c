package gateway

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/agent/gateway/policy"
)

// The content phase in APIcast: policy_chain.lua calls each element's
// content in chain order; the apicast policy's ends in
// "upstream:call(context)", which (apicast/upstream.lua) "store[s] itself in
// `context` table for later use in balancer phase and call[s] `ngx.exec`",
// an internal redirect that never returns (APIcast PR #535, "introduce
// content phase": "APIcast policy is going to use ngx.exec to do internal
// redirect to the @upstream location"). The upstream and routing policies'
// content does the same when they chose an upstream ("if upstream then
// upstream:call(context) else return nil, 'no upstream' end"). A content
// policy placed after the element that forwards never runs: hence
// liquid_context_debug's manifest, "When combined with the APIcast policy or
// the upstream one, this policy needs to be placed before them in the chain
// in order to work correctly".

// chainOf is a chain of the given elements, written as JSON.
func chainOf(elements ...string) string { return "[" + strings.Join(elements, ",") + "]" }

// chainElement is one enabled element of a chain.
func chainElement(name, conf string) string {
	return `{"name":"` + name + `","version":"builtin","enabled":true,"configuration":` + conf + `}`
}

var (
	apicastElementJSON = chainElement("apicast", `{}`)
	echoElementJSON    = chainElement("echo", `{}`)
	debugElementJSON   = chainElement("liquid_context_debug", `{}`)
)

// [apicast, echo]: the apicast element forwards in the content phase before
// echo's turn comes, so the upstream answers and echo never does.
func TestChainContentEchoAfterAPIcastForwards(t *testing.T) {
	cg := startChainGateway(t, chainOf(apicastElementJSON, echoElementJSON))
	a := call(t, "GET", cg.base+"/t?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusOK, a.status)
	assert.Equal(t, "app", a.body, "the upstream answers, not echo")
	require.Len(t, cg.got, 1, "the request is forwarded")
	assert.Equal(t, "/t", (<-cg.got).URL.Path)
	assert.Zero(t, policyEvents(cg.reg, "echo", "answered"))
}

// [echo, apicast]: echo's content comes first and answers ("This policy
// prints the request back to the client"); nothing is forwarded.
func TestChainContentEchoBeforeAPIcastAnswers(t *testing.T) {
	cg := startChainGateway(t, chainOf(echoElementJSON, apicastElementJSON))
	a := call(t, "GET", cg.base+"/t?user_key="+cg.key, nil)
	assert.Equal(t, "GET /t?user_key="+cg.key+" HTTP/1.1\n", a.body)
	assert.Empty(t, cg.got, "echo answers: nothing is forwarded")
	assert.Equal(t, 1.0, policyEvents(cg.reg, "echo", "answered"))
}

// [apicast, liquid_context_debug]: placed after the apicast element, against
// its manifest's "needs to be placed before them", the debug policy never
// answers: the upstream does.
func TestChainContentLiquidContextDebugAfterAPIcastForwards(t *testing.T) {
	cg := startChainGateway(t, chainOf(apicastElementJSON, debugElementJSON))
	a := call(t, "GET", cg.base+"/t?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusOK, a.status)
	assert.Equal(t, "app", a.body, "the upstream answers, not the Liquid context")
	assert.Len(t, cg.got, 1, "the request is forwarded")
}

// APIcast's content_caching has no content phase: its access phase sets
// ngx.var.cache_request, which nginx's proxy_cache of the @upstream location
// reads. Its answers are kept and served on the way to the upstream,
// wherever the policy sits: after the apicast element too ("This policy
// allows to enable and disable caching based on customized conditions").
func TestChainContentCachingAfterAPIcastServesHits(t *testing.T) {
	cg := startCacheGateway(t, chainOf(apicastElementJSON,
		chainElement("content_caching", `{"rules":[{"cache":true,"header":"X-Cache-Status"}]}`)), policy.ContentCaching{})
	a := call(t, "GET", cg.base+"/things?user_key="+cg.key, nil)
	assert.Equal(t, "MISS", a.header.Get("X-Cache-Status"))
	assert.Equal(t, "1", a.body)
	a = call(t, "GET", cg.base+"/things?user_key="+cg.key, nil)
	assert.Equal(t, "HIT", a.header.Get("X-Cache-Status"))
	assert.Equal(t, "1", a.body, "the kept answer")
	assert.Equal(t, int64(1), cg.served.Load())
}

// The cache is the upstream location's: an answer a content policy makes
// (liquid_context_debug's, echo's) never goes through it, so it is neither
// kept nor served from the cache, and gets no cache header (APIcast's
// header_filter copies $upstream_cache_status, empty without an upstream).
// Each request gets its own Liquid context, never an earlier client's.
func TestChainContentCachingNeverKeepsAPolicyAnswer(t *testing.T) {
	cg := startChainGateway(t, chainOf(
		chainElement("content_caching", `{"rules":[{"cache":true,"header":"X-Cache-Status"}]}`),
		debugElementJSON, apicastElementJSON))
	for _, who := range []string{"first", "second"} {
		a := call(t, "GET", cg.base+"/t?user_key="+cg.key, http.Header{"X-Who": {who}})
		require.Equal(t, http.StatusOK, a.status, a.body)
		var got map[string]any
		require.NoError(t, json.Unmarshal([]byte(a.body), &got))
		assert.Equal(t, who, got["headers"].(map[string]any)["X-Who"], "this request's own context")
		assert.Empty(t, a.header.Get("X-Cache-Status"), "no cache for a policy's answer")
	}
	assert.Empty(t, cg.got)
	assert.Zero(t, contentCaching(cg.reg, "HIT"))
	assert.Zero(t, contentCaching(cg.reg, "MISS"))
}

// [upstream, echo, apicast]: the upstream policy's content forwards when one
// of its rules matched ("when matched against the request path, replaces
// the upstream URL with a given string"), before echo's turn; when none
// did it returns "no upstream" and echo answers.
func TestChainContentUpstreamThatChoseForwardsBeforeEcho(t *testing.T) {
	other, got := echoUpstream(t, "other")
	cg := startRouteGateway(t, chainOf(
		chainElement("upstream", `{"rules":[{"regex":"^/other","url":"`+other.URL+`"}]}`),
		echoElementJSON, apicastElementJSON), nil)
	a := call(t, "GET", cg.base+"/other/x?user_key="+cg.key, nil)
	assert.Equal(t, "other", a.body, "the upstream policy's choice answers, not echo")
	require.Len(t, got, 1)
	assert.Equal(t, "/other/x", (<-got).URL.Path)

	a = call(t, "GET", cg.base+"/x?user_key="+cg.key, nil)
	assert.Equal(t, "GET /x?user_key="+cg.key+" HTTP/1.1\n", a.body, "no rule matched: echo answers")
	assert.Empty(t, cg.got)
	assert.Equal(t, 1.0, policyEvents(cg.reg, "echo", "answered"))
}

// [routing, echo, apicast]: routing's content, "if context.route_upstream
// then context.route_upstream:call(context) else return nil, 'no upstream'",
// forwards when a rule's condition held; otherwise echo answers.
func TestChainContentRoutingThatChoseForwardsBeforeEcho(t *testing.T) {
	other, got := routeOther(t)
	cg := startRouteGateway(t, chainOf(
		chainElement("routing", `{"rules":[{"url":"`+other.URL+`/base","replace_path":"/v2{{uri}}",
			"condition":{"operations":[{"match":"path","op":"==","value":"/accounts"}]}}]}`),
		echoElementJSON, apicastElementJSON), nil)
	a := call(t, "GET", cg.base+"/accounts?user_key="+cg.key, nil)
	assert.Equal(t, "other", a.body, "routing's choice answers, not echo")
	require.Len(t, got, 1)
	assert.Equal(t, "/base/v2/accounts", (<-got).URL.Path, "with the rule's replace_path")

	a = call(t, "GET", cg.base+"/users?user_key="+cg.key, nil)
	assert.Equal(t, "GET /users?user_key="+cg.key+" HTTP/1.1\n", a.body, "no rule held: echo answers")
	assert.Empty(t, cg.got)
}

// [upstream, routing, apicast], both matching: upstream.lua keeps its
// choice as its own (context[self]) and its content phase, first, calls it
// ("upstream:call(context)", an ngx.exec that never returns), so routing's
// content never comes and its choice is not used. When the upstream
// policy's rules do not match, routing's content forwards to its choice.
func TestChainContentFirstChooserForwardsToItsOwnChoice(t *testing.T) {
	first, gotFirst := echoUpstream(t, "first")
	second, gotSecond := routeOther(t)
	cg := startRouteGateway(t, chainOf(
		chainElement("upstream", `{"rules":[{"regex":"^/both","url":"`+first.URL+`"}]}`),
		chainElement("routing", `{"rules":[{"url":"`+second.URL+`","condition":{"operations":[]}}]}`),
		apicastElementJSON), nil)
	a := call(t, "GET", cg.base+"/both?user_key="+cg.key, nil)
	assert.Equal(t, "first", a.body, "the upstream policy's choice, not routing's")
	require.Len(t, gotFirst, 1)
	assert.Equal(t, "/both", (<-gotFirst).URL.Path)
	assert.Empty(t, gotSecond)

	a = call(t, "GET", cg.base+"/other?user_key="+cg.key, nil)
	assert.Equal(t, "other", a.body, "no upstream rule matched: routing's choice")
	require.Len(t, gotSecond, 1)
	assert.Empty(t, cg.got)
}

// A routing rule's replace_path is the path of its own upstream
// (upstream_selector.lua: "upstream:append_path(rule.replace_path:render
// (context))"), and choosing it sets the request's path to "/"
// ("ngx.req.set_uri("/")"): when the upstream policy before it forwards to
// its own choice, that upstream gets "/", neither routing's path nor the
// client's.
func TestChainContentReplacePathOnlyForRoutingsOwnUpstream(t *testing.T) {
	first, gotFirst := echoUpstream(t, "first")
	second, gotSecond := routeOther(t)
	cg := startRouteGateway(t, chainOf(
		chainElement("upstream", `{"rules":[{"regex":"^/both","url":"`+first.URL+`"}]}`),
		chainElement("routing", `{"rules":[{"url":"`+second.URL+`","replace_path":"/replaced{{uri}}","condition":{"operations":[]}}]}`),
		apicastElementJSON), nil)
	assert.Equal(t, "first", call(t, "GET", cg.base+"/both?user_key="+cg.key, nil).body)
	require.Len(t, gotFirst, 1)
	assert.Equal(t, "/", (<-gotFirst).URL.Path, "the path routing's choice left")
	assert.Equal(t, "other", call(t, "GET", cg.base+"/x?user_key="+cg.key, nil).body)
	require.Len(t, gotSecond, 1)
	assert.Equal(t, "/replaced/x", (<-gotSecond).URL.Path, "routing's path to routing's upstream")
}

// The same after a later routing policy: one whose rule holds sends the
// request to its upstream with "/", one whose rules do not sends it to the
// service's upstream with "/". The later policy's conditions read the
// client's path (APIcast's read "/"), so that a check on the path after a
// routing policy is never dodged.
func TestChainContentReplacePathThenAnotherRouting(t *testing.T) {
	second, gotSecond := routeOther(t)
	rp := chainElement("routing", `{"rules":[{"url":"http://127.0.0.1:9","replace_path":"/replaced{{uri}}","condition":{"operations":[]}}]}`)
	cg := startRouteGateway(t, chainOf(rp,
		chainElement("routing", `{"rules":[{"url":"`+second.URL+`","condition":{"operations":[{"match":"path","op":"==","value":"/x"}]}}]}`),
		apicastElementJSON), nil)
	assert.Equal(t, "other", call(t, "GET", cg.base+"/x?user_key="+cg.key, nil).body, "the later rule reads the client's path and holds")
	require.Len(t, gotSecond, 1)
	assert.Equal(t, "/", (<-gotSecond).URL.Path)

	cg = startRouteGateway(t, chainOf(rp,
		chainElement("routing", `{"rules":[{"url":"`+second.URL+`","condition":{"operations":[{"match":"path","op":"==","value":"/never"}]}}]}`),
		apicastElementJSON), nil)
	assert.Equal(t, "app", call(t, "GET", cg.base+"/x?user_key="+cg.key, nil).body, "no later rule holds: the service's upstream")
	require.Len(t, cg.got, 1)
	assert.Equal(t, "/", (<-cg.got).URL.Path)
}

// routing.lua's access sets the request's one chosen upstream,
// context.route_upstream, to its rule's or to nil, and its content calls
// whatever that is then; upstream.lua's access sets it to its own choice
// when it made one. So, in chain order: [routing, upstream] both matching
// go to the upstream policy's (its access runs last); [routing (no rule
// holds), echo, upstream] forward at routing's content to the upstream
// policy's choice, before echo; [routing, routing (no rule holds)] go to
// the service's upstream.
func TestChainContentRoutingForwardsTheRequestsChosenUpstream(t *testing.T) {
	never := `"condition":{"operations":[{"match":"path","op":"==","value":"/never"}]}`
	t.Run("routing upstream", func(t *testing.T) {
		first, gotFirst := echoUpstream(t, "first")
		second, gotSecond := routeOther(t)
		cg := startRouteGateway(t, chainOf(
			chainElement("routing", `{"rules":[{"url":"`+second.URL+`","condition":{"operations":[]}}]}`),
			chainElement("upstream", `{"rules":[{"regex":"^/","url":"`+first.URL+`"}]}`),
			apicastElementJSON), nil)
		assert.Equal(t, "first", call(t, "GET", cg.base+"/x?user_key="+cg.key, nil).body)
		assert.Len(t, gotFirst, 1)
		assert.Empty(t, gotSecond)
	})
	t.Run("routing echo upstream", func(t *testing.T) {
		first, gotFirst := echoUpstream(t, "first")
		cg := startRouteGateway(t, chainOf(
			chainElement("routing", `{"rules":[{"url":"http://127.0.0.1:9",`+never+`}]}`),
			echoElementJSON,
			chainElement("upstream", `{"rules":[{"regex":"^/","url":"`+first.URL+`"}]}`),
			apicastElementJSON), nil)
		assert.Equal(t, "first", call(t, "GET", cg.base+"/x?user_key="+cg.key, nil).body, "forwarded before echo")
		assert.Len(t, gotFirst, 1)
		assert.Zero(t, policyEvents(cg.reg, "echo", "answered"))
	})
	t.Run("routing routing", func(t *testing.T) {
		second, gotSecond := routeOther(t)
		cg := startRouteGateway(t, chainOf(
			chainElement("routing", `{"rules":[{"url":"`+second.URL+`","condition":{"operations":[]}}]}`),
			chainElement("routing", `{"rules":[{"url":"http://127.0.0.1:9",`+never+`}]}`),
			apicastElementJSON), nil)
		assert.Equal(t, "app", call(t, "GET", cg.base+"/x?user_key="+cg.key, nil).body, "the service's upstream")
		assert.Empty(t, gotSecond)
		assert.Len(t, cg.got, 1)
	})
}

// [apicast, routing] and [apicast, upstream]: the apicast element's content
// forwards first, to the service's upstream (proxy.lua's get_upstream: the
// service's api_backend), so the choice of a routing or upstream policy
// placed after it is not used, nor routing's replace_path; but the path is
// "/" when routing chose a rule with one (upstream_selector.lua's set_uri,
// in routing's access, before that content): "When combined with
// the APIcast policy, the routing policy should be placed before it in the
// policy chain".
func TestChainContentUpstreamChosenAfterAPIcastIsNotUsed(t *testing.T) {
	for name, element := range map[string]string{
		"routing":  `{"rules":[{"url":"OTHER/base","replace_path":"/v2{{uri}}","condition":{"operations":[]}}]}`,
		"upstream": `{"rules":[{"regex":"/","url":"OTHER/base"}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			other, got := routeOther(t)
			cg := startRouteGateway(t, chainOf(apicastElementJSON,
				chainElement(name, strings.ReplaceAll(element, "OTHER", other.URL))), nil)
			a := call(t, "GET", cg.base+"/accounts?user_key="+cg.key, nil)
			assert.Equal(t, "app", a.body, "the service's upstream")
			assert.Empty(t, got, "the later policy's choice is not used")
			require.Len(t, cg.got, 1)
			want := map[string]string{"routing": "/", "upstream": "/accounts"}[name]
			assert.Equal(t, want, (<-cg.got).URL.Path)
		})
	}
}

// content_caching before a routing rule with replace_path: every request
// the rule routes has the path "/" by then, so the cache key is what the
// upstream is asked (the rendered path, and query), never "/": /a's answer
// is not served for /b.
func TestChainContentCachingKeysARoutedRequestByItsRenderedPath(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.URL.RequestURI())
	}))
	t.Cleanup(up.Close)
	cg := startRouteGateway(t, chainOf(
		chainElement("content_caching", `{"rules":[{"cache":true,"header":"X-Cache-Status"}]}`),
		chainElement("routing", `{"rules":[{"url":"`+up.URL+`","replace_path":"/v2{{uri}}","condition":{"operations":[]}}]}`),
		apicastElementJSON), nil)
	for _, tc := range []struct{ path, body, cache string }{
		{"/a", "/v2/a?user_key=", "MISS"}, {"/b", "/v2/b?user_key=", "MISS"}, {"/a", "/v2/a?user_key=", "HIT"},
	} {
		a := call(t, "GET", cg.base+tc.path+"?user_key="+cg.key, nil)
		assert.Equal(t, tc.body+cg.key, a.body, tc.path)
		assert.Equal(t, tc.cache, a.header.Get("X-Cache-Status"), tc.path)
	}
}
