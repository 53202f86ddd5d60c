package gateway

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

func capturesChain(transformations string) string {
	return `[{"name":"rewrite_url_captures","version":"builtin","enabled":true,"configuration":{"transformations":` + transformations + `}},
		{"name":"apicast","version":"builtin","enabled":true,"configuration":{}}]`
}

// The manifest's example: "'/{orderId}/{accountId}' and a template [...]
// '/sales/v2/{orderId}?account={accountId}'; in this case, the request
// '/123/456' will be transformed into '/sales/v2/123?account=456'". The
// request's other query arguments are kept ("This function does not delete
// or modify the params in the query that do not appear in 'new_params'").
func TestPolicyRewriteURLCapturesManifestExample(t *testing.T) {
	cg := startChainGateway(t, capturesChain(`[{"match_rule":"/{orderId}/{accountId}","template":"/sales/v2/{orderId}?account={accountId}"}]`))
	p, q := rewritten(t, cg, "GET", "/123/456?user_key="+cg.key, nil)
	assert.Equal(t, "/sales/v2/123", p)
	assert.Equal(t, "account=456&user_key="+cg.key, q)
	assert.Equal(t, 1.0, policyEvents(cg.reg, "rewrite_url_captures", "rewritten"))
}

// apicast-policy-rewrite-url-captures.t: "When there are several
// transformations that match, only the first one is applied"; "When none of
// the transformations match, the URL is not modified".
func TestPolicyRewriteURLCapturesFirstMatchOnly(t *testing.T) {
	cg := startChainGateway(t, capturesChain(`[{"match_rule":"/i_dont_match/{var_1}","template":"/nope"},
		{"match_rule":"/{var_1}/{var_2}","template":"/{var_2}?my_arg={var_1}"},
		{"match_rule":"/{var_1}/{var_2}","template":"/{var_1}/{var_2}"}]`))
	p, q := rewritten(t, cg, "GET", "/abc/def?user_key="+cg.key, nil)
	assert.Equal(t, "/def", p)
	assert.Equal(t, "my_arg=abc&user_key="+cg.key, q)

	cg = startChainGateway(t, capturesChain(`[{"match_rule":"/i_dont_match","template":"/{var_2}?my_arg={var_1}"},
		{"match_rule":"/i_dont_match/{var_1}","template":"/{var_2}?my_arg={var_1}"}]`))
	p, q = rewritten(t, cg, "GET", "/abc?query_arg=def&user_key="+cg.key, nil)
	assert.Equal(t, "/abc", p)
	assert.Equal(t, "query_arg=def&user_key="+cg.key, q)
	assert.Zero(t, policyEvents(cg.reg, "rewrite_url_captures", "rewritten"))
}

// set_query_params: "When a param in 'new_params' exist in the request, this
// function replaces its value. When it does not exist, it simply adds it."
// Every argument of the template is set (named_args_matcher's own comment:
// "a=1&b=2&c=3" gives three); a template without '?' leaves the query alone.
func TestPolicyRewriteURLCapturesQueryArgumentsReplacedOrAdded(t *testing.T) {
	cg := startChainGateway(t, capturesChain(`[{"match_rule":"/{a}/{b}","template":"/x?my_arg={a}&new={b}&fixed=3"}]`))
	p, q := rewritten(t, cg, "GET", "/abc/def?my_arg=old&my_arg=older&other=1&user_key="+cg.key, nil)
	assert.Equal(t, "/x", p)
	vals, err := url.ParseQuery(q)
	require.NoError(t, err)
	assert.Equal(t, url.Values{"my_arg": {"abc"}, "new": {"def"}, "fixed": {"3"}, "other": {"1"}, "user_key": {cg.key}}, vals)

	cg = startChainGateway(t, capturesChain(`[{"match_rule":"/{a}/{b}","template":"/{b}/{a}"}]`))
	p, q = rewritten(t, cg, "GET", "/abc/def?b=2&a=1&user_key="+cg.key, nil)
	assert.Equal(t, "/def/abc", p)
	assert.Equal(t, "b=2&a=1&user_key="+cg.key, q, "the query as sent")

	// named_args_matcher's own example: "/{var_2}?{var_1}=1", a capture
	// naming the argument.
	cg = startChainGateway(t, capturesChain(`[{"match_rule":"/{var_1}/{var_2}","template":"/{var_2}?{var_1}=1"}]`))
	p, q = rewritten(t, cg, "GET", "/abc/def?user_key="+cg.key, nil)
	assert.Equal(t, "/def", p)
	assert.Equal(t, "abc=1&user_key="+cg.key, q)
}

// Schema "methods": "Array of HTTP methods this rule must be applied to. If
// left blank it will be applied to all HTTP methods". A transformation
// whose methods leave the request out does not count as the first match.
func TestPolicyRewriteURLCapturesMethods(t *testing.T) {
	cg := startRouteGateway(t, capturesChain(`[{"match_rule":"/{a}","template":"/post/{a}","methods":["POST"]},
		{"match_rule":"/{a}","template":"/any/{a}","methods":[]}]`), func(f *gatewayFixture) {
		require.NoError(t, f.tx.Create(&composition.MappingRule{OwnerType: composition.OwnerService, OwnerID: f.svc.ID,
			MetricID: f.hits.ID, HTTPMethod: "POST", Pattern: "/", Delta: 1}))
	})
	p, _ := rewritten(t, cg, "POST", "/thing?user_key="+cg.key, nil)
	assert.Equal(t, "/post/thing", p)
	p, _ = rewritten(t, cg, "GET", "/thing?user_key="+cg.key, nil)
	assert.Equal(t, "/any/thing", p)
}

// A match_rule is named_args_matcher's regex: its text outside the
// placeholders is a regular expression, matched anywhere in the path
// (ngx.re.match without anchor), and the rule matches only when its
// captures are its placeholders: one with a group of its own never does.
// Placed before apicast, the mapping rules see the rewritten path.
func TestPolicyRewriteURLCapturesRuleIsAnUnanchoredRegex(t *testing.T) {
	cg := startChainGateway(t, capturesChain(`[{"match_rule":"/(v1|v2)/{id}","template":"/grouped/{id}"},
		{"match_rule":"/(?:v1|v2)/{id}$","template":"/items/{id}"}]`))
	p, _ := rewritten(t, cg, "GET", "/api/v2/42?user_key="+cg.key, nil)
	assert.Equal(t, "/items/42", p)
	p, _ = rewritten(t, cg, "GET", "/api/v3/42?user_key="+cg.key, nil)
	assert.Equal(t, "/api/v3/42", p)

	// A placeholder takes APIcast's mapping rule characters: never '/'.
	cg = startChainGateway(t, capturesChain(`[{"match_rule":"^/files/{name}$","template":"/store/{name}"}]`))
	p, _ = rewritten(t, cg, "GET", "/files/a/b?user_key="+cg.key, nil)
	assert.Equal(t, "/files/a/b", p)
	p, _ = rewritten(t, cg, "GET", "/files/report-1.0_final~v2!$&'()*+,;=@:?user_key="+cg.key, nil)
	assert.Equal(t, "/store/report-1.0_final~v2!$&'()*+,;=@:", p)
}

// A captured value stays the value it is placed in: "/{a}" given
// "/1&role=admin" sets the template's id to "1&role=admin", escaped, and
// cannot set the template's role (APIcast substitutes before it splits the
// query, so the request's path could). A '%' captured from the decoded path
// is sent escaped in the path as in the query.
func TestPolicyRewriteURLCapturesCaptureCannotInjectArguments(t *testing.T) {
	cg := startChainGateway(t, capturesChain(`[{"match_rule":"^/v1/{a}$","template":"/v2/{a}?role=guest&id={a}"}]`))
	a := call(t, "GET", cg.base+"/v1/1&role=admin?user_key="+cg.key, nil)
	require.Equal(t, http.StatusOK, a.status, a.body)
	r := <-cg.got
	assert.Equal(t, "/v2/1&role=admin", r.URL.Path)
	assert.Equal(t, url.Values{"role": {"guest"}, "id": {"1&role=admin"}, "user_key": {cg.key}}, r.URL.Query())
	assert.Contains(t, r.URL.RawQuery, "id=1%26role%3Dadmin")

	a = call(t, "GET", cg.base+"/v1/50%25?user_key="+cg.key, nil)
	require.Equal(t, http.StatusOK, a.status, a.body)
	r = <-cg.got
	assert.Equal(t, "/v2/50%", r.URL.Path)
	assert.Equal(t, "/v2/50%25", r.URL.EscapedPath())
	assert.Equal(t, "50%", r.URL.Query().Get("id"))
}

// A capture may be "..": a rewritten path with a dot segment is refused
// with 400, as the gateway refuses one sent by a client, never forwarded
// for the upstream to resolve past the mapping rules.
func TestPolicyRewriteURLCapturesRefusesDotSegments(t *testing.T) {
	cg := startChainGateway(t, capturesChain(`[{"match_rule":"^/get-{name}$","template":"/files/{name}/public"}]`))
	a := call(t, "GET", cg.base+"/get-..?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusBadRequest, a.status)
	assert.Equal(t, "Bad Request: dot segments and control bytes are not allowed in the path\n", a.body)
	assert.Empty(t, cg.got)
	assert.Equal(t, 1.0, policyEvents(cg.reg, "rewrite_url_captures", "refused"))

	p, _ := rewritten(t, cg, "GET", "/get-...?user_key="+cg.key, nil)
	assert.Equal(t, "/files/.../public", p, "three dots are a name")
}

// Schema: transformations an array of objects whose methods are GET, POST,
// PUT, PATCH, DELETE, HEAD or OPTIONS; match_rule and template, without
// which APIcast's matcher fails, are required; a match_rule RE2 cannot run
// and a template with a control character are refused.
func TestPolicyRewriteURLCapturesInvalidConfigurationFailsClosed(t *testing.T) {
	for conf, field := range map[string]string{
		`{"match_rule":"/{a}"}`: "transformations[0].template",
		`{"template":"/{a}"}`:   "transformations[0].match_rule",
		`{"match_rule":"/{a}","template":"/x","methods":["FETCH"]}`:    "transformations[0].methods[0]",
		`{"match_rule":"/(?=v1){a}","template":"/x"}`:                  "transformations[0].match_rule",
		`{"match_rule":"/{a}","template":"/x\r\nX-Injected: 1"}`:       "transformations[0].template",
		`{"match_rule":"/{a}","template":"/x","methods":"GET"}`:        "transformations.methods",
		`{"match_rule":["/{a}"],"template":"/x"}`:                      "transformations.match_rule",
		`{"match_rule":"/(unclosed/{a}","template":"/x","methods":[]}`: "transformations[0].match_rule",
	} {
		cg := startChainGateway(t, capturesChain(`[`+conf+`]`))
		a := call(t, "GET", cg.base+"/a?user_key="+cg.key, nil)
		assert.Equal(t, http.StatusServiceUnavailable, a.status, conf)
		assert.Contains(t, a.body, "configuration."+field+":", conf)
		assert.Empty(t, cg.got, conf)
	}
}
