package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// APIcast's cors.lua: a preflight is "OPTIONS with Origin and
// Access-Control-Request-Method"; it is answered 204 in the rewrite phase
// ("with ngx.exit(204), header_filter is run. CORS headers will be set
// there"), so it needs no credentials and never reaches the upstream. "By
// default, those headers are set so all the requests are allowed": the
// request's Origin, Access-Control-Request-Headers and -Method are echoed,
// Allow-Credentials is true and Max-Age 600 ("The ttl of the preflight
// response (default: 600)").
func TestPolicyCORSPreflightAnswered204WithoutUpstreamOrCredentials(t *testing.T) {
	cg := startChainGateway(t, `[{"name":"cors","version":"builtin","configuration":{},"enabled":true},
		{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`)
	a := call(t, "OPTIONS", cg.base+"/things", http.Header{"Origin": {"https://app.example"},
		"Access-Control-Request-Method": {"PUT"}, "Access-Control-Request-Headers": {"X-Custom"}})
	assert.Equal(t, http.StatusNoContent, a.status)
	assert.Equal(t, "https://app.example", a.header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "PUT", a.header.Get("Access-Control-Allow-Methods"))
	assert.Equal(t, "X-Custom", a.header.Get("Access-Control-Allow-Headers"))
	assert.Equal(t, "true", a.header.Get("Access-Control-Allow-Credentials"))
	assert.Equal(t, "600", a.header.Get("Access-Control-Max-Age"))
	assert.Empty(t, a.body)
	assert.Empty(t, cg.got, "a preflight never goes upstream")
	assert.Equal(t, 1.0, policyEvents(cg.reg, "cors", "preflight"))
}

// "allow_origin: Origin allowed for CORS requests. The field expects only one
// origin (e.g. 'https://example.com') or '*'"; allow_headers, allow_methods,
// allow_credentials and max_age replace the defaults, on every response to a
// request with an Origin (header_filter), not only on preflights. A list is
// sent as APIcast sends a Lua table: one header line per value.
func TestPolicyCORSConfiguredHeadersOnForwardedResponse(t *testing.T) {
	cg := startChainGateway(t, `[{"name":"cors","version":"builtin","enabled":true,"configuration":{
		"allow_origin":"https://example.com","allow_headers":["X-A","X-B"],"allow_methods":["GET","POST"],
		"allow_credentials":false,"max_age":100}},
		{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`)
	a := call(t, "GET", cg.base+"/?user_key="+cg.key, http.Header{"Origin": {"https://other.example"}})
	assert.Equal(t, http.StatusOK, a.status)
	assert.Equal(t, "app", a.body)
	assert.Equal(t, "https://example.com", a.header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, []string{"X-A", "X-B"}, a.header.Values("Access-Control-Allow-Headers"))
	assert.Equal(t, []string{"GET", "POST"}, a.header.Values("Access-Control-Allow-Methods"))
	assert.Equal(t, "false", a.header.Get("Access-Control-Allow-Credentials"))
	assert.Equal(t, "100", a.header.Get("Access-Control-Max-Age"))
	<-cg.got
}

// "In order to allow more than one origin it is possible to use a regular
// expression, if it matches with Origin header value, the value will be set
// to the Origin Value. In case it does not match, the header will not set at
// all. Example: '(api|web).test.com' wil match both 'api.test.com' and
// 'web.test.com'."
func TestPolicyCORSOriginRegularExpression(t *testing.T) {
	cg := startChainGateway(t, `[{"name":"cors","version":"builtin","enabled":true,"configuration":{"allow_origin":"(api|web).test.com"}},
		{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`)
	for origin, allowed := range map[string]bool{"https://api.test.com": true, "https://web.test.com": true, "https://evil.example": false} {
		a := call(t, "GET", cg.base+"/?user_key="+cg.key, http.Header{"Origin": {origin}})
		require.Equal(t, http.StatusOK, a.status)
		if allowed {
			assert.Equal(t, origin, a.header.Get("Access-Control-Allow-Origin"), origin)
		} else {
			assert.Empty(t, a.header.Values("Access-Control-Allow-Origin"), "a non-matching origin gets no Allow-Origin: %s", origin)
		}
	}
}

// set_cors_headers returns when the request has no Origin: a same-origin
// request gets no CORS header at all.
func TestPolicyCORSNoOriginNoHeaders(t *testing.T) {
	cg := startChainGateway(t, `[{"name":"cors","version":"builtin","enabled":true,"configuration":{}},
		{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`)
	a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusOK, a.status)
	for k := range a.header {
		assert.NotContains(t, k, "Access-Control", "no CORS header without an Origin")
	}
}

// The header filter runs on the gateway's own answers too: an OPTIONS that
// is no preflight (no Access-Control-Request-Method) goes through the apicast
// element, which finds no mapping rule for it, and its 404 carries the CORS
// headers, so a browser can read the error.
func TestPolicyCORSHeadersOnErrorAnswers(t *testing.T) {
	cg := startChainGateway(t, `[{"name":"cors","version":"builtin","enabled":true,"configuration":{}},
		{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`)
	a := call(t, "OPTIONS", cg.base+"/?user_key="+cg.key, http.Header{"Origin": {"https://app.example"}})
	assert.Equal(t, http.StatusNotFound, a.status)
	assert.Contains(t, a.body, "No Mapping Rule matched")
	assert.Equal(t, "https://app.example", a.header.Get("Access-Control-Allow-Origin"))
	a = call(t, "GET", cg.base+"/", http.Header{"Origin": {"https://app.example"}})
	assert.Equal(t, http.StatusForbidden, a.status, "no credentials")
	assert.Equal(t, "https://app.example", a.header.Get("Access-Control-Allow-Origin"))
	assert.Empty(t, cg.got)
}

// The schema's allow_methods items are an enum ("GET", "HEAD", ...): another
// method is a configuration error naming the field, and the service fails
// closed.
func TestPolicyCORSInvalidMethodFailsClosed(t *testing.T) {
	cg := startChainGateway(t, `[{"name":"cors","version":"builtin","enabled":true,"configuration":{"allow_methods":["GET","FETCH"]}},
		{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`)
	a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusServiceUnavailable, a.status)
	assert.Contains(t, a.body, `policy "cors"`)
	assert.Contains(t, a.body, "allow_methods[1]")
}

// edgeBenchGateway is a gateway in process whose service has chainJSON as
// its policy chain, in front of an upstream answering "ok": the fixture of
// the policy benchmarks.
func edgeBenchGateway(b *testing.B, chainJSON string) *Gateway {
	b.Helper()
	f := newGatewayFixture(b, backendUserKey)
	p, ok := f.tx.View().Proxies.Get(f.svc.ID)
	require.True(b, ok)
	np := *p
	np.PolicyChain = policyChain(b, chainJSON)
	require.NoError(b, f.tx.Update(&np))
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))
	b.Cleanup(up.Close)
	g, _, _ := startTestGateway(b, f, up.URL, f.placement(f.basic, f.premium), Config{})
	return g
}

// runEdgeBench drives g.ServeHTTP with req, b.N times.
func runEdgeBench(b *testing.B, g *Gateway, req *http.Request) {
	w := &discardResponse{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		clear(w.h)
		g.ServeHTTP(w, req)
	}
}

// BenchmarkPolicyCORS is a simple CORS request (Origin) through [cors, apicast].
func BenchmarkPolicyCORS(b *testing.B) {
	g := edgeBenchGateway(b, `[{"name":"cors","version":"builtin","enabled":true,"configuration":{"allow_origin":"https://example.com"}},
		{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`)
	req := httptest.NewRequest(http.MethodGet, "/health?user_key=premium-key", nil)
	req.Header.Set("Origin", "https://example.com")
	req.RemoteAddr = "198.51.100.7:4000" // not blacklisted: forwarded
	runEdgeBench(b, g, req)
}

// edgeChain is the chain of the performance target: cors, headers
// and ip_check in front of apicast.
const edgeChain = `[{"name":"cors","version":"builtin","enabled":true,"configuration":{"allow_origin":"https://example.com"}},
	{"name":"headers","version":"builtin","enabled":true,"configuration":{
		"request":[{"op":"set","header":"X-Gateway","value":"portolan"}],
		"response":[{"op":"set","header":"X-Frame-Options","value":"DENY"}]}},
	{"name":"ip_check","version":"builtin","enabled":true,"configuration":{"check_type":"blacklist","ips":["192.0.2.0/24","2001:db8::/32"]}},
	{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`

// The three edge policies together: an allowed request gets both response
// headers and the upstream the request header; a preflight is answered
// before the IP check (rewrite before access) with the response headers of
// both; a denied caller's 403 still carries them, so a browser can read it.
func TestPolicyCORSHeadersIPCheckTogether(t *testing.T) {
	cg := startChainGateway(t, edgeChain)
	origin := http.Header{"Origin": {"https://example.com"}}
	a := call(t, "GET", cg.base+"/?user_key="+cg.key, origin)
	require.Equal(t, http.StatusOK, a.status)
	assert.Equal(t, "https://example.com", a.header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "DENY", a.header.Get("X-Frame-Options"))
	assert.Equal(t, "portolan", (<-cg.got).Header.Get("X-Gateway"))

	req := httptest.NewRequest(http.MethodGet, "/?user_key="+cg.key, nil)
	req.Header.Set("Origin", "https://example.com")
	req.RemoteAddr = "192.0.2.9:4000"
	w := httptest.NewRecorder()
	cg.g.ServeHTTP(w, req)
	assert.Equal(t, http.StatusForbidden, w.Code)
	assert.Equal(t, "IP address not allowed\n", w.Body.String())
	assert.Equal(t, "https://example.com", w.Header().Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "DENY", w.Header().Get("X-Frame-Options"))

	req = httptest.NewRequest(http.MethodOptions, "/", nil)
	req.Header.Set("Origin", "https://example.com")
	req.Header.Set("Access-Control-Request-Method", "GET")
	req.RemoteAddr = "192.0.2.9:4000"
	w = httptest.NewRecorder()
	cg.g.ServeHTTP(w, req)
	assert.Equal(t, http.StatusNoContent, w.Code, "the preflight is answered in the rewrite phase, before the access phase's IP check")
	assert.Equal(t, "DENY", w.Header().Get("X-Frame-Options"))
	assert.Empty(t, cg.got)
}

// BenchmarkPolicyEdgeChain is a request through [cors, headers, ip_check,
// apicast]: the chain of the "≥ 0.9× nginx" target.
func BenchmarkPolicyEdgeChain(b *testing.B) {
	g := edgeBenchGateway(b, edgeChain)
	req := httptest.NewRequest(http.MethodGet, "/health?user_key=premium-key", nil)
	req.Header.Set("Origin", "https://example.com")
	req.RemoteAddr = "198.51.100.7:4000" // not blacklisted: forwarded
	runEdgeBench(b, g, req)
}
