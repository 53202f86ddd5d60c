package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// startPayloadGateway is startChainGateway with a POST / rule as well, for
// requests with bodies.
func startPayloadGateway(t *testing.T, conf string) *chainGateway {
	t.Helper()
	f := newGatewayFixture(t, backendUserKey)
	require.NoError(t, f.tx.Create(&composition.MappingRule{OwnerType: composition.OwnerService, OwnerID: f.svc.ID,
		MetricID: f.hits.ID, HTTPMethod: "POST", Pattern: "/", Delta: 1}))
	f.proxy(t, func(p *composition.Proxy) {
		p.PolicyChain = policyChain(t, `[{"name":"payload_limits","version":"builtin","enabled":true,"configuration":`+conf+`},
			{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`)
	})
	up, got := echoUpstream(t, "app")
	g, base, reg := startTestGateway(t, f, up.URL, f.placement(f.basic, f.premium), Config{})
	return &chainGateway{f: f, g: g, base: base, got: got, reg: reg, up: up.URL, basic: "basic-key", key: "premium-key"}
}

// postBody sends body; chunked hides its length (Transfer-Encoding: chunked).
func postBody(t *testing.T, target, body string, chunked bool) answer {
	t.Helper()
	var r io.Reader = strings.NewReader(body)
	if chunked {
		r = io.MultiReader(r) // not a type whose length the client knows
	}
	req, err := http.NewRequest(http.MethodPost, target, r)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return answer{resp.StatusCode, resp.Header.Get("Content-Type"), string(b), resp.Header}
}

// "Request limit in bytes, 0 allows all": a request whose Content-Length is
// over it gets 413 "Payload Too Large" and does not reach the upstream; one
// within it goes through.
func TestPolicyPayloadLimitsRequestByContentLength(t *testing.T) {
	cg := startPayloadGateway(t, `{"request":10,"response":0}`)
	a := postBody(t, cg.base+"/?user_key="+cg.key, "0123456789A", false)
	assert.Equal(t, http.StatusRequestEntityTooLarge, a.status)
	assert.Equal(t, "Payload Too Large\n", a.body)
	assert.Empty(t, cg.got)
	assert.Equal(t, 1.0, policyEvents(cg.reg, "payload_limits", "request_too_large"))
	a = postBody(t, cg.base+"/?user_key="+cg.key, "0123456789", false)
	assert.Equal(t, http.StatusOK, a.status)
	<-cg.got

	cg = startPayloadGateway(t, `{"request":0,"response":0}`)
	a = postBody(t, cg.base+"/?user_key="+cg.key, strings.Repeat("x", 100000), false)
	assert.Equal(t, http.StatusOK, a.status, "0 allows all")
}

// A body without a Content-Length (chunked), which APIcast lets through
// unchecked, is read up to the limit: over it, 413; within it, forwarded
// whole.
func TestPolicyPayloadLimitsRequestChunkedBody(t *testing.T) {
	cg := startPayloadGateway(t, `{"request":10,"response":0}`)
	a := postBody(t, cg.base+"/?user_key="+cg.key, "0123456789A", true)
	assert.Equal(t, http.StatusRequestEntityTooLarge, a.status)
	assert.Equal(t, "Payload Too Large\n", a.body)
	assert.Empty(t, cg.got)
	a = postBody(t, cg.base+"/?user_key="+cg.key, "0123456789", true)
	assert.Equal(t, http.StatusOK, a.status)
	got := <-cg.got
	assert.Equal(t, int64(10), got.ContentLength, "the upstream gets the whole body")
}

// "Response limit in bytes": an upstream response whose Content-Length is
// over it becomes 413 with the body "Payload Too Large" (APIcast's
// header_filter and body_filter); one within it is passed as it is.
func TestPolicyPayloadLimitsResponse(t *testing.T) {
	cg := startPayloadGateway(t, `{"request":0,"response":2}`)
	a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusRequestEntityTooLarge, a.status)
	assert.Equal(t, "Payload Too Large", a.body)
	assert.Equal(t, 1.0, policyEvents(cg.reg, "payload_limits", "response_too_large"))
	<-cg.got
	cg = startPayloadGateway(t, `{"request":0,"response":3}`)
	a = call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusOK, a.status)
	assert.Equal(t, "app", a.body)
	// The gateway's own answers are not the upstream's: left alone.
	a = call(t, "GET", cg.base+"/", nil)
	assert.Equal(t, http.StatusForbidden, a.status)
}

// APIcast's payload_limits.lua header_filter, on a response over the limit,
// sets only "ngx.status = 413" and "ngx.header["Content-Length"] =
// #PayloadErrMessage", and its body_filter sends "Payload Too Large": the
// upstream's Content-Type is what the client gets with it.
func TestPolicyPayloadLimitsResponseKeepsTheUpstreamsContentType(t *testing.T) {
	f := newGatewayFixture(t, backendUserKey)
	f.proxy(t, func(p *composition.Proxy) {
		p.PolicyChain = policyChain(t, `[{"name":"payload_limits","version":"builtin","enabled":true,"configuration":{"request":0,"response":2}},
			{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`)
	})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"articles":[]}`)
	}))
	t.Cleanup(up.Close)
	_, base, _ := startTestGateway(t, f, up.URL, f.placement(f.basic, f.premium), Config{})
	a := call(t, "GET", base+"/?user_key=premium-key", nil)
	assert.Equal(t, http.StatusRequestEntityTooLarge, a.status)
	assert.Equal(t, "Payload Too Large", a.body)
	assert.Equal(t, "application/json", a.contentType)
	assert.Equal(t, "17", a.header.Get("Content-Length"))
}

// The schema requires request and response, integers of at least 0.
func TestPolicyPayloadLimitsInvalidConfigurationFailsClosed(t *testing.T) {
	for conf, field := range map[string]string{
		`{"response":0}`:               "request",
		`{"request":0}`:                "response",
		`{"request":-1,"response":0}`:  "request",
		`{"request":0,"response":"1"}`: "response",
	} {
		cg := startChainGateway(t, `[{"name":"payload_limits","version":"builtin","enabled":true,"configuration":`+conf+`}]`)
		a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
		assert.Equal(t, http.StatusServiceUnavailable, a.status, conf)
		assert.Contains(t, a.body, "configuration."+field+":", conf)
	}
}

// BenchmarkPolicyPayloadLimits is a request within both limits through
// [payload_limits, apicast].
func BenchmarkPolicyPayloadLimits(b *testing.B) {
	g := edgeBenchGateway(b, `[{"name":"payload_limits","version":"builtin","enabled":true,"configuration":{"request":1000,"response":1000}},
		{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`)
	runEdgeBench(b, g, httptest.NewRequest(http.MethodGet, "/health?user_key=premium-key", nil))
}
