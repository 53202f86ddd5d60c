package gateway

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/agent/gateway/policy"
	"github.com/portolan/portolan/composition"
)

func rewritingChain(conf string) string {
	return `[{"name":"url_rewriting","version":"builtin","enabled":true,"configuration":` + conf + `},
		{"name":"apicast","version":"builtin","enabled":true,"configuration":{}}]`
}

// rewrittenPath calls target through cg and returns the path and query the
// app got.
func rewritten(t *testing.T, cg *chainGateway, method, target string, h http.Header) (string, string) {
	t.Helper()
	a := call(t, method, cg.base+target, h)
	require.Equal(t, http.StatusOK, a.status, a.body)
	r := <-cg.got
	return r.URL.Path, r.URL.RawQuery
}

// Schema: op "sub": "Substitute the first match of the regex applied";
// "gsub": "Substitute all the matches of the regex applied".
func TestURLRewritingSubAndGsub(t *testing.T) {
	cg := startRouteGateway(t, rewritingChain(`{"commands":[{"op":"sub","regex":"to_be_replaced","replace":"new"}]}`), nil)
	p, _ := rewritten(t, cg, "GET", "/some_path/to_be_replaced/123/to_be_replaced?user_key="+cg.key, nil)
	assert.Equal(t, "/some_path/new/123/to_be_replaced", p)
	assert.Equal(t, 1.0, policyEvents(cg.reg, "url_rewriting", "rewritten"))

	cg = startRouteGateway(t, rewritingChain(`{"commands":[{"op":"gsub","regex":"to_be_replaced","replace":"new"}]}`), nil)
	p, _ = rewritten(t, cg, "GET", "/some_path/to_be_replaced/123/to_be_replaced?user_key="+cg.key, nil)
	assert.Equal(t, "/some_path/new/123/new", p)
}

// ngx.re.sub's replace: $0..$N and ${N} are the captures, $$ a dollar.
func TestURLRewritingCapturesInReplace(t *testing.T) {
	cg := startRouteGateway(t, rewritingChain(`{"commands":[{"op":"sub","regex":"^/v1/([a-z]+)/(\\d+)$","replace":"/api/$2x/${1}s/$$"}]}`), nil)
	p, _ := rewritten(t, cg, "GET", "/v1/user/42?user_key="+cg.key, nil)
	assert.Equal(t, "/api/42x/users/$", p)
}

// Schema: "break": "when set to true, if the command rewrote the URL, it
// will be the last one applied". A command that did not match does not
// stop the others.
func TestURLRewritingBreak(t *testing.T) {
	cmds := func(brk string) string {
		return `{"commands":[{"op":"sub","regex":"^/nomatch","replace":"/x","break":true},
			{"op":"sub","regex":"^/a","replace":"/b","break":` + brk + `},{"op":"sub","regex":"^/b","replace":"/c"}]}`
	}
	cg := startRouteGateway(t, rewritingChain(cmds("true")), nil)
	p, _ := rewritten(t, cg, "GET", "/a?user_key="+cg.key, nil)
	assert.Equal(t, "/b", p, "break after the command that rewrote")

	cg = startRouteGateway(t, rewritingChain(cmds("false")), nil)
	p, _ = rewritten(t, cg, "GET", "/a?user_key="+cg.key, nil)
	assert.Equal(t, "/c", p, "without break, every command applies in turn")
}

// Schema: "options": "Options that define how the regex matching is
// performed" (ngx.re's: i caseless here).
func TestURLRewritingOptions(t *testing.T) {
	cg := startRouteGateway(t, rewritingChain(`{"commands":[{"op":"sub","regex":"ORIGINAL","replace":"new","options":"i"}]}`), nil)
	p, _ := rewritten(t, cg, "GET", "/original?user_key="+cg.key, nil)
	assert.Equal(t, "/new", p)
}

// Schema "methods": "Array of HTTP methods this rule must be applied to. If
// left blank it will be applied to all HTTP methods".
func TestURLRewritingMethods(t *testing.T) {
	cg := startRouteGateway(t, rewritingChain(`{"commands":[{"op":"sub","regex":"old","replace":"new","methods":["POST"]}],
		"query_args_commands":[{"op":"set","arg":"m","value":"post","methods":["POST"]}]}`), func(f *gatewayFixture) {
		require.NoError(t, f.tx.Create(&composition.MappingRule{OwnerType: composition.OwnerService, OwnerID: f.svc.ID,
			MetricID: f.hits.ID, HTTPMethod: "POST", Pattern: "/", Delta: 1}))
	})
	p, q := rewritten(t, cg, "GET", "/old?user_key="+cg.key, nil)
	assert.Equal(t, "/old", p)
	assert.Equal(t, "user_key="+cg.key, q)
	p, q = rewritten(t, cg, "POST", "/old?user_key="+cg.key, nil)
	assert.Equal(t, "/new", p)
	assert.Equal(t, "m=post&user_key="+cg.key, q)
}

// Schema "query_args_commands": add "Add a value to an existing argument",
// set "Create the arg when not set, replace its value when set", push
// "Create the arg when not set, add the value when set", delete "Delete an
// arg"; value_type liquid "Evaluate 'value' as liquid".
func TestURLRewritingQueryArgs(t *testing.T) {
	cg := startRouteGateway(t, rewritingChain(`{"query_args_commands":[
		{"op":"add","arg":"a","value":"2"},{"op":"add","arg":"absent","value":"x"},
		{"op":"set","arg":"s","value":"new"},{"op":"set","arg":"created","value":"yes"},
		{"op":"push","arg":"p","value":"2"},{"op":"push","arg":"pushed","value":"{{ headers['X-User'] }}","value_type":"liquid"},
		{"op":"delete","arg":"d"}]}`), nil)
	_, q := rewritten(t, cg, "GET", "/?a=1&s=old&p=1&d=gone&user_key="+cg.key, http.Header{"X-User": {"ann"}})
	assert.Equal(t, "a=1&a=2&created=yes&p=1&p=2&pushed=ann&s=new&user_key="+cg.key, q)
}

// APIcast's query_args_commands change what ngx.req.get_uri_args read
// (apicast/query_params.lua): nginx splits the arguments at '&' only, so a
// ';' is part of a value, and an escape that does not decode is kept as
// sent. Such arguments reach the upstream beside the command's, not dropped.
func TestURLRewritingQueryArgsKeepOtherArguments(t *testing.T) {
	cg := startRouteGateway(t, rewritingChain(`{"query_args_commands":[{"op":"set","arg":"v","value":"2"}]}`), nil)
	_, q := rewritten(t, cg, "GET", "/?filter=a;b&bad=50%zz&user_key="+cg.key, nil)
	vals, err := url.ParseQuery(q)
	require.NoError(t, err, q)
	assert.Equal(t, url.Values{"filter": {"a;b"}, "bad": {"50%zz"}, "v": {"2"}, "user_key": {cg.key}}, vals)
}

// query_args_commands write the query back with ngx.req.set_uri_args, whose
// escaping (lua-nginx-module's ngx_http_lua_escape_uri, URI component)
// writes a space as %20, never '+': an upstream that reads the query as
// RFC 3986 rather than as a form would take '+' for a plus sign.
func TestURLRewritingQueryArgsWriteASpaceAsPercent20(t *testing.T) {
	cg := startRouteGateway(t, rewritingChain(`{"query_args_commands":[{"op":"set","arg":"v","value":"x y"}]}`), nil)
	_, q := rewritten(t, cg, "GET", "/?q=a%20b&plus=1%2B1&user_key="+cg.key, nil)
	assert.Equal(t, "plus=1%2B1&q=a%20b&user_key="+cg.key+"&v=x%20y", q)
}

// Manifest: "if the URL rewriting policy is placed before it in the chain,
// the APIcast mapping rules will apply to the modified path. If the URL
// rewriting policy is placed after APIcast in the chain, then the mapping
// rules will apply to the original path." Only POST /rewritten is mapped.
func TestURLRewritingBeforeApicastMappingRulesMatchTheRewrittenPath(t *testing.T) {
	mapRewritten := func(f *gatewayFixture) {
		require.NoError(t, f.tx.Create(&composition.MappingRule{OwnerType: composition.OwnerService, OwnerID: f.svc.ID,
			MetricID: f.hits.ID, HTTPMethod: "POST", Pattern: "/rewritten$", Delta: 1}))
	}
	conf := `{"commands":[{"op":"sub","regex":"^/original","replace":"/rewritten"}]}`
	cg := startRouteGateway(t, rewritingChain(conf), mapRewritten)
	p, _ := rewritten(t, cg, "POST", "/original?user_key="+cg.key, nil)
	assert.Equal(t, "/rewritten", p)

	cg = startRouteGateway(t, `[{"name":"apicast","version":"builtin","enabled":true,"configuration":{}},
		{"name":"url_rewriting","version":"builtin","enabled":true,"configuration":`+conf+`}]`, mapRewritten)
	a := call(t, "POST", cg.base+"/original?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusNotFound, a.status, "after apicast, the original path is matched: no rule")
	p, _ = rewritten(t, cg, "POST", "/rewritten?user_key="+cg.key, nil)
	assert.Equal(t, "/rewritten", p)
}

// APIcast runs PCRE; the gateway runs RE2 and refuses what RE2 cannot run
// (backreferences, lookaround), naming the field; the service fails closed.
func TestURLRewritingConfigErrorsNameTheField(t *testing.T) {
	for conf, field := range map[string]string{
		`{"commands":[{"op":"sub","regex":"(a)\\1","replace":"x"}]}`:                            "commands[0].regex",
		`{"commands":[{"op":"sub","regex":"a(?=b)","replace":"x"}]}`:                            "commands[0].regex",
		`{"commands":[{"op":"sub","regex":"a(?<=b)","replace":"x"}]}`:                           "commands[0].regex",
		`{"commands":[{"op":"sub","regex":"a","replace":"$2"}]}`:                                "commands[0].replace",
		`{"commands":[{"op":"sub","regex":"a","replace":"$x"}]}`:                                "commands[0].replace",
		`{"commands":[{"op":"sub","regex":"a","replace":"x","options":"x"}]}`:                   "commands[0].options",
		`{"commands":[{"op":"replace","regex":"a","replace":"x"}]}`:                             "commands[0].op",
		`{"commands":[{"op":"sub","replace":"x"}]}`:                                             "commands[0].regex",
		`{"commands":[{"op":"sub","regex":"a","replace":"x","methods":["GOT"]}]}`:               "commands[0].methods[0]",
		`{"query_args_commands":[{"op":"add","value":"x"}]}`:                                    "query_args_commands[0].arg",
		`{"query_args_commands":[{"op":"pop","arg":"a"}]}`:                                      "query_args_commands[0].op",
		`{"query_args_commands":[{"op":"set","arg":"a","value":"{{ x","value_type":"liquid"}]}`: "query_args_commands[0].value",
		`{"query_args_commands":[{"op":"set","arg":"a","value":"x","value_type":"lua"}]}`:       "query_args_commands[0].value_type",
	} {
		chain := policyChain(t, `[{"name":"url_rewriting","version":"builtin","enabled":true,"configuration":`+conf+`}]`)
		_, err := policy.Build(chain, nil, &policy.Env{Metrics: policy.NewMetrics(prometheus.NewRegistry())})
		var fe *policy.FieldError
		if assert.ErrorAs(t, err, &fe, conf) {
			assert.Equal(t, field, fe.Field, conf)
		}
	}
	cg := startRouteGateway(t, rewritingChain(`{"commands":[{"op":"sub","regex":"(a)\\1","replace":"x"}]}`), nil)
	a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusServiceUnavailable, a.status)
	assert.Contains(t, a.body, "commands[0].regex")
	assert.Empty(t, cg.got)
}

func BenchmarkPolicyURLRewriting(b *testing.B) {
	benchPolicy(b, rewritingChain(`{"commands":[{"op":"sub","regex":"^/v1/(.*)","replace":"/$1","break":true},{"op":"gsub","regex":"//","replace":"/"}]}`),
		"/v1/health?user_key=premium-key")
}
