package gateway

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// referrerFixture is the gateway fixture with referrer filters on the basic
// and frozen applications ("*.example.com" and "10.0.0.1"); required says
// whether the service has referrer_filters_required. Its chain has
// 3scale_referrer, which sends the Referer header to be checked.
func referrerFixture(t *testing.T, required bool) *gatewayFixture {
	t.Helper()
	f := newGatewayFixture(t, backendUserKey)
	f.proxy(t, func(p *composition.Proxy) { p.PolicyChain = policyChain(t, referrerChain) })
	svc := *f.svc
	svc.ReferrerFiltersRequired = required
	require.NoError(t, f.tx.Update(&svc))
	for _, app := range []*composition.Application{f.basicApp, f.frozen} {
		stored, ok := f.tx.View().Applications.Get(app.ID)
		require.True(t, ok)
		n := *stored
		n.ReferrerFilters = []composition.ReferrerFilter{{ID: 1, Value: "*.example.com"}, {ID: 2, Value: "10.0.0.1"}}
		require.NoError(t, f.tx.Update(&n))
	}
	return f
}

// On a service with referrer_filters_required, the Referer header must
// match one of the application's filters (or be "*"); a missing or other
// one is refused with the service's "authentication failed" answer, as
// APIcast answers apisonator's referrer_not_allowed, and reaches nothing.
// An application without filters takes any referrer, or none.
func TestGatewayEnforcesReferrerFilters(t *testing.T) {
	f := referrerFixture(t, true)
	up, got := echoUpstream(t, "app")
	_, gw, reg := startTestGateway(t, f, up.URL, f.placement(f.basic, f.premium), Config{})
	const text = "text/plain; charset=us-ascii"
	basic := gw + "/articles?user_key=basic-key"

	for _, ref := range []string{"api.example.com", "10.0.0.1", "*"} {
		a := call(t, "GET", basic, http.Header{"Referer": {ref}})
		assert.Equal(t, 200, a.status, "referrer %q: %s", ref, a.body)
	}
	for _, ref := range []string{"evil.org", "example.com", "api.example.com.evil.org", "10.0.0.10", ""} {
		a := call(t, "GET", basic, http.Header{"Referer": {ref}})
		assert.Equal(t, answer{403, text, "Authentication failed\n", nil}, strip(a), "referrer %q", ref)
	}
	missing := call(t, "GET", basic, nil)
	assert.Equal(t, answer{403, text, "Authentication failed\n", nil}, strip(missing), "no Referer: no referrer")
	assert.Len(t, got, 3, "only the allowed requests reach the app")

	for _, h := range []http.Header{nil, {"Referer": {"evil.org"}}} {
		assert.Equal(t, 200, call(t, "GET", gw+"/articles?user_key=premium-key", h).status, "no filters: any referrer or none")
	}
	// The referrer comes before the state, as in apisonator: a suspended
	// application is refused for its referrer first, then for its state.
	assert.Equal(t, 403, call(t, "GET", gw+"/?user_key=frozen-key", http.Header{"Referer": {"evil.org"}}).status)
	assert.Equal(t, 403, call(t, "GET", gw+"/?user_key=frozen-key", http.Header{"Referer": {"api.example.com"}}).status)
	// A bad key stays a bad key, whatever the referrer.
	assert.Equal(t, 403, call(t, "GET", gw+"/?user_key=nope", http.Header{"Referer": {"evil.org"}}).status)

	assert.Equal(t, 7.0, requests(reg, "referrer_not_allowed"), "5 bad referrers, 1 missing, 1 on the suspended app")
	assert.Equal(t, 2.0, requests(reg, "auth_failed"), "the suspended app with a good referrer, and the bad key")
	assert.Equal(t, 5.0, requests(reg, "forwarded"))
}

// A refused referrer counts no usage: the basic plan's 5 hits a minute
// are all there after refusals.
func TestGatewayReferrerRefusalCountsNoUsage(t *testing.T) {
	f := referrerFixture(t, true)
	up, _ := echoUpstream(t, "app")
	_, gw, _ := startTestGateway(t, f, up.URL, f.placement(f.basic), Config{})
	for range 6 {
		require.Equal(t, 403, call(t, "GET", gw+"/?user_key=basic-key", http.Header{"Referer": {"evil.org"}}).status)
	}
	for i := range 5 {
		assert.Equal(t, 200, call(t, "GET", gw+"/?user_key=basic-key", http.Header{"Referer": {"www.example.com"}}).status, "hit %d", i+1)
	}
	assert.Equal(t, 429, call(t, "GET", gw+"/?user_key=basic-key", http.Header{"Referer": {"www.example.com"}}).status)
}

// Without referrer_filters_required the filters are not checked: apisonator
// runs its referrer validator only for services that require it.
func TestGatewayIgnoresReferrerFiltersUnlessRequired(t *testing.T) {
	f := referrerFixture(t, false)
	up, _ := echoUpstream(t, "app")
	_, gw, reg := startTestGateway(t, f, up.URL, f.placement(f.basic), Config{})
	assert.Equal(t, 200, call(t, "GET", gw+"/?user_key=basic-key", http.Header{"Referer": {"evil.org"}}).status)
	assert.Equal(t, 200, call(t, "GET", gw+"/?user_key=basic-key", nil).status)
	assert.Zero(t, requests(reg, "referrer_not_allowed"))
}

// A referrer refusal takes the proxy's own "authentication failed" answer
// (error_auth_failed, its status and content type), as APIcast's does.
func TestGatewayReferrerRefusalUsesCustomAuthFailed(t *testing.T) {
	f := referrerFixture(t, true)
	f.proxy(t, func(p *composition.Proxy) {
		p.ErrorAuthFailed, p.ErrorStatusAuthFailed, p.ErrorHeadersAuthFailed = `{"error":"not from here"}`, 401, "application/json"
	})
	up, _ := echoUpstream(t, "app")
	_, gw, _ := startTestGateway(t, f, up.URL, f.placement(f.basic), Config{})
	a := call(t, "GET", gw+"/?user_key=basic-key", http.Header{"Referer": {"evil.org"}})
	assert.Equal(t, answer{401, "application/json", "{\"error\":\"not from here\"}\n", nil}, strip(a))
}

// On the wire: the header's name in any case, the first of two Referer
// headers (nginx's $http_referer), an empty one (given, so "*" filters
// would match it, none here), and a refusal that leaves the connection
// usable.
func TestGatewayWireReferrer(t *testing.T) {
	f := referrerFixture(t, true)
	app := newWtApp(t)
	_, gw, _ := startTestGateway(t, f, app.url, f.placement(f.basic), Config{})
	wc := wtDial(t, gw[len("http://"):])
	steps := []struct {
		name, head string
		status     int
	}{
		{"lower-case name", "referer: api.example.com\r\n", 200},
		{"upper-case name", "REFERER: 10.0.0.1\r\n", 200},
		{"first of two", "Referer: api.example.com\r\nReferer: evil.org\r\n", 200},
		{"first of two, refused", "Referer: evil.org\r\nReferer: api.example.com\r\n", 403},
		{"empty", "Referer:\r\n", 403},
		{"spaces around", "Referer:   api.example.com  \r\n", 200},
		{"none", "", 403},
	}
	served := 0
	for _, s := range steps {
		wc.send("GET /r?user_key=basic-key HTTP/1.1\r\nHost: gw\r\n" + s.head + "\r\n")
		a := wc.read("GET")
		assert.Equal(t, s.status, a.status, "%s: %q", s.name, a.body)
		assert.False(t, a.close, s.name)
		if s.status == 200 {
			served++
		}
	}
	assert.Len(t, app.seen(), served, "refused requests reach nothing")
	for _, seen := range app.seen() {
		assert.NotEmpty(t, seen.header.Get("Referer"), "the Referer is forwarded, as APIcast forwards it")
	}
}
