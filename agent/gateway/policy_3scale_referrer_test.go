package gateway

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// startReferrerGateway is the referrer fixture (filters "*.example.com" and
// "10.0.0.1" on the basic and suspended applications, none on premium's)
// behind a gateway whose chain is chainJSON ("" for 3scale's default, apicast
// alone).
func startReferrerGateway(t *testing.T, required bool, chainJSON string) (string, chan *http.Request, *gatewayFixture) {
	t.Helper()
	f := referrerFixture(t, required)
	var chain []composition.PolicyConfig
	if chainJSON != "" {
		chain = policyChain(t, chainJSON)
	}
	f.proxy(t, func(p *composition.Proxy) { p.PolicyChain = chain })
	up, got := echoUpstream(t, "app")
	_, gw, _ := startTestGateway(t, f, up.URL, f.placement(f.basic, f.premium), Config{})
	return gw, got, f
}

const referrerChain = `[{"name":"3scale_referrer","version":"builtin","enabled":true,"configuration":{}},
	{"name":"apicast","version":"builtin","enabled":true}]`

// The manifest: "Sends the 'Referer' to 3scale backend for validation."
// APIcast's policy puts the Referer header in the authrep's referrer
// parameter, which apisonator's referrer validator matches against the
// application's filters on a service with referrer_filters_required ("*"
// bypasses them). A missing Referer sends none: "referrer is missing".
// A refusal is APIcast's "Authentication failed".
func TestPolicy3scaleReferrerSendsTheReferer(t *testing.T) {
	gw, got, _ := startReferrerGateway(t, true, referrerChain)
	basic := gw + "/articles?user_key=basic-key"
	for _, ref := range []string{"api.example.com", "10.0.0.1", "*"} {
		assert.Equal(t, http.StatusOK, call(t, "GET", basic, http.Header{"Referer": {ref}}).status, "referrer %q", ref)
	}
	for _, ref := range []string{"evil.org", "example.com", ""} {
		a := call(t, "GET", basic, http.Header{"Referer": {ref}})
		assert.Equal(t, answer{403, "text/plain; charset=us-ascii", "Authentication failed\n", nil}, strip(a), "referrer %q", ref)
	}
	assert.Equal(t, http.StatusForbidden, call(t, "GET", basic, nil).status, "no Referer: none sent, missing")
	for _, h := range []http.Header{nil, {"Referer": {"evil.org"}}} {
		assert.Equal(t, http.StatusOK, call(t, "GET", gw+"/?user_key=premium-key", h).status, "an application without filters takes any referrer")
	}
	assert.Len(t, got, 5)
}

// Without the policy APIcast sends apisonator no referrer, whatever the
// request's Referer, and apisonator's validator (run for a service with
// referrer_filters_required) refuses an application with filters for a
// missing referrer; one without filters passes. A service without the
// requirement checks nothing.
func TestPolicy3scaleReferrerAbsentSendsNoReferrer(t *testing.T) {
	gw, got, _ := startReferrerGateway(t, true, "")
	for _, ref := range []string{"api.example.com", "*"} {
		a := call(t, "GET", gw+"/?user_key=basic-key", http.Header{"Referer": {ref}})
		assert.Equal(t, answer{403, "text/plain; charset=us-ascii", "Authentication failed\n", nil}, strip(a), "referrer %q is not sent", ref)
	}
	assert.Equal(t, http.StatusOK, call(t, "GET", gw+"/?user_key=premium-key", http.Header{"Referer": {"evil.org"}}).status)
	assert.Len(t, got, 1)

	// A disabled policy is no policy.
	gw, _, _ = startReferrerGateway(t, true, `[{"name":"3scale_referrer","version":"builtin","enabled":false},
		{"name":"apicast","version":"builtin","enabled":true}]`)
	assert.Equal(t, http.StatusForbidden, call(t, "GET", gw+"/?user_key=basic-key", http.Header{"Referer": {"api.example.com"}}).status)

	gw, _, _ = startReferrerGateway(t, false, "")
	assert.Equal(t, http.StatusOK, call(t, "GET", gw+"/?user_key=basic-key", http.Header{"Referer": {"evil.org"}}).status, "not required: not checked")
}

// APIcast's policy reads ngx.var.http_referer in its rewrite phase, at its
// place in the chain: a headers policy before it that sets Referer changes
// the referrer sent, one after it does not. Placed after apicast it still
// sends it: apicast authorizes in the access phase, after every rewrite.
func TestPolicy3scaleReferrerReadsTheHeaderAtItsPlace(t *testing.T) {
	const setReferer = `{"name":"headers","version":"builtin","enabled":true,"configuration":{"request":[
		{"op":"set","header":"Referer","value":"api.example.com","value_type":"plain"}]}}`
	const referrer = `{"name":"3scale_referrer","version":"builtin","enabled":true}`
	const apicast = `{"name":"apicast","version":"builtin","enabled":true}`
	evil := http.Header{"Referer": {"evil.org"}}

	gw, got, _ := startReferrerGateway(t, true, "["+setReferer+","+referrer+","+apicast+"]")
	assert.Equal(t, http.StatusOK, call(t, "GET", gw+"/?user_key=basic-key", evil).status, "set before: sent")
	require.Len(t, got, 1)
	assert.Equal(t, "api.example.com", (<-got).Header.Get("Referer"))

	gw, _, _ = startReferrerGateway(t, true, "["+referrer+","+setReferer+","+apicast+"]")
	assert.Equal(t, http.StatusForbidden, call(t, "GET", gw+"/?user_key=basic-key", evil).status, "set after: the request's is sent")

	gw, _, _ = startReferrerGateway(t, true, "["+apicast+","+referrer+"]")
	assert.Equal(t, http.StatusOK, call(t, "GET", gw+"/?user_key=basic-key", http.Header{"Referer": {"10.0.0.1"}}).status)
	assert.Equal(t, http.StatusForbidden, call(t, "GET", gw+"/?user_key=basic-key", evil).status)
}

// The manifest's configuration has no properties: any object is taken,
// unknown fields ignored as APIcast ignores them (3scale stores nothing but
// an object).
func TestPolicy3scaleReferrerConfiguration(t *testing.T) {
	gw, _, _ := startReferrerGateway(t, true, `[{"name":"3scale_referrer","version":"builtin","enabled":true,"configuration":{"unused":1}},
		{"name":"apicast","version":"builtin","enabled":true}]`)
	assert.Equal(t, http.StatusOK, call(t, "GET", gw+"/?user_key=basic-key", http.Header{"Referer": {"10.0.0.1"}}).status)
	assert.Equal(t, http.StatusForbidden, call(t, "GET", gw+"/?user_key=basic-key", http.Header{"Referer": {"evil.org"}}).status)
}
