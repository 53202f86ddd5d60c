package gateway

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// README (Anonymous Access): "When the credentials are not provided in the
// request, this policy provides the default ones configured." A request
// without credentials is authorized as the application of the default
// user_key and counted against it: the basic application's plan allows 5
// hits a minute, so the sixth anonymous request is over its limit.
func TestPolicyDefaultCredentialsUserKeyAuthorizesAndCounts(t *testing.T) {
	cg := startChainGateway(t, `[{"name":"default_credentials","version":"builtin","enabled":true,
		"configuration":{"auth_type":"user_key","user_key":"basic-key"}},
		{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`)
	for i := range 5 {
		a := call(t, "GET", cg.base+"/", nil)
		require.Equal(t, http.StatusOK, a.status, "anonymous request %d", i+1)
		assert.Equal(t, "app", a.body)
	}
	a := call(t, "GET", cg.base+"/", nil)
	assert.Equal(t, http.StatusTooManyRequests, a.status, "the anonymous hits were counted against the basic application")
	l := cg.g.ledger.(*countingLedger)
	l.mu.Lock()
	var n int64
	for _, c := range l.counts[[2]int64{cg.f.basicApp.ID, cg.f.hits.ID}] {
		n += c
	}
	l.mu.Unlock()
	assert.Equal(t, int64(5), n)
	// Credentials in the request win over the default ones.
	a = call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusOK, a.status)
	a = call(t, "GET", cg.base+"/?user_key=wrong", nil)
	assert.Equal(t, http.StatusForbidden, a.status, "a wrong key is not replaced by the default one")
}

// auth_type app_id_and_app_key: "the combination of app_id + app_key", for
// services of backend version 2.
func TestPolicyDefaultCredentialsAppIDAndKey(t *testing.T) {
	f := newGatewayFixture(t, backendAppID)
	f.proxy(t, func(p *composition.Proxy) {
		p.PolicyChain = policyChain(t, `[{"name":"default_credentials","version":"builtin","enabled":true,
			"configuration":{"auth_type":"app_id_and_app_key","app_id":"premium-key","app_key":"premium-key-secret"}},
			{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`)
	})
	up, got := echoUpstream(t, "app")
	_, base, _ := startTestGateway(t, f, up.URL, f.placement(f.basic, f.premium), Config{})
	a := call(t, "GET", base+"/", nil)
	assert.Equal(t, http.StatusOK, a.status)
	<-got
	a = call(t, "GET", base+"/?app_id=premium-key&app_key=nope", nil)
	assert.Equal(t, http.StatusForbidden, a.status)

	// For backend version 2 the credentials are missing only when both
	// app_id and app_key are ("return service_creds.app_id == nil and
	// service_creds.app_key == nil"): a request with an app_key alone keeps
	// it, gets no default app_id, and is refused as APIcast's proxy refuses
	// a credential tuple with a hole (error_no_credentials).
	a = call(t, "GET", base+"/?app_key=premium-key-secret", nil)
	assert.Equal(t, http.StatusForbidden, a.status)
	assert.Contains(t, a.body, "Authentication parameters missing")
	assert.Empty(t, got, "not served as the default application")
}

// APIcast's default_credentials.lua decides by the service's backend
// version, not by the policy's auth_type: creds_missing is "user_key ==
// nil" for backend version 1 and "app_id == nil and app_key == nil" for 2,
// and provide_creds gives version 1 the configured user_key and version 2
// the configured app_id and app_key, each only when configured ("No default
// user key configured", "No default app_id + app_key configured"). So a
// default of the other kind gives nothing: the anonymous request is refused
// as APIcast refuses it, for missing credentials.
func TestPolicyDefaultCredentialsOfTheServicesBackendVersion(t *testing.T) {
	for _, tc := range []struct{ version, conf string }{
		{backendAppID, `{"auth_type":"user_key","user_key":"premium-key"}`},
		{backendUserKey, `{"auth_type":"app_id_and_app_key","app_id":"premium-key","app_key":"premium-key-secret"}`},
	} {
		f := newGatewayFixture(t, tc.version)
		f.proxy(t, func(p *composition.Proxy) {
			p.PolicyChain = policyChain(t, `[{"name":"default_credentials","version":"builtin","enabled":true,"configuration":`+tc.conf+`},
				{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`)
		})
		up, got := echoUpstream(t, "app")
		_, base, _ := startTestGateway(t, f, up.URL, f.placement(f.basic, f.premium), Config{})
		a := call(t, "GET", base+"/", nil)
		assert.Equal(t, http.StatusForbidden, a.status, tc.conf)
		assert.Contains(t, a.body, "Authentication parameters missing", tc.conf)
		assert.Empty(t, got, "nothing reaches the app")
	}
}

// The credentials the policy supplies are those of the service's version
// whatever auth_type says (default_credentials.lua reads config.user_key,
// config.app_id and config.app_key, never auth_type): a configuration with
// auth_type user_key that also carries app_id and app_key, which the schema
// allows, supplies them to a backend version 2 service.
func TestPolicyDefaultCredentialsIgnoreAuthTypeAtRequestTime(t *testing.T) {
	f := newGatewayFixture(t, backendAppID)
	f.proxy(t, func(p *composition.Proxy) {
		p.PolicyChain = policyChain(t, `[{"name":"default_credentials","version":"builtin","enabled":true,
			"configuration":{"auth_type":"user_key","user_key":"basic-key","app_id":"premium-key","app_key":"premium-key-secret"}},
			{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`)
	})
	up, got := echoUpstream(t, "app")
	_, base, _ := startTestGateway(t, f, up.URL, f.placement(f.basic, f.premium), Config{})
	a := call(t, "GET", base+"/", nil)
	require.Equal(t, http.StatusOK, a.status, a.body)
	<-got
}

// "Note: this policy should be placed before the APIcast policy in the
// chain": after it, the apicast element has already found no credentials.
func TestPolicyDefaultCredentialsAfterApicastHasNoEffect(t *testing.T) {
	cg := startChainGateway(t, `[{"name":"apicast","version":"builtin","configuration":{},"enabled":true},
		{"name":"default_credentials","version":"builtin","enabled":true,"configuration":{"auth_type":"user_key","user_key":"basic-key"}}]`)
	a := call(t, "GET", cg.base+"/", nil)
	assert.Equal(t, http.StatusForbidden, a.status)
	assert.Contains(t, a.body, "Authentication parameters missing")
}

// The schema requires auth_type, and user_key or app_id + app_key with it.
func TestPolicyDefaultCredentialsInvalidConfigurationFailsClosed(t *testing.T) {
	for conf, field := range map[string]string{
		`{}`:                       "auth_type",
		`{"auth_type":"oauth"}`:    "auth_type",
		`{"auth_type":"user_key"}`: "user_key",
		`{"auth_type":"app_id_and_app_key","app_key":"k"}`: "app_id",
		`{"auth_type":"app_id_and_app_key","app_id":"a"}`:  "app_key",
	} {
		cg := startChainGateway(t, `[{"name":"default_credentials","version":"builtin","enabled":true,"configuration":`+conf+`}]`)
		a := call(t, "GET", cg.base+"/", nil)
		assert.Equal(t, http.StatusServiceUnavailable, a.status, conf)
		assert.Contains(t, a.body, "configuration."+field+":", conf)
	}
}

// BenchmarkPolicyDefaultCredentials is an anonymous request through
// [default_credentials, apicast].
func BenchmarkPolicyDefaultCredentials(b *testing.B) {
	g := edgeBenchGateway(b, `[{"name":"default_credentials","version":"builtin","enabled":true,
		"configuration":{"auth_type":"user_key","user_key":"premium-key"}},
		{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`)
	runEdgeBench(b, g, httptest.NewRequest(http.MethodGet, "/health", nil))
}
