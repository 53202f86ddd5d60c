package gateway

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// "This policy returns the context available when evaluating liquid", as
// JSON, in the content phase: the request is not forwarded. "When combined
// with the APIcast policy or the upstream one, this policy needs to be placed
// before them in the chain": the apicast element still authorizes it.
func TestPolicyLiquidContextDebugAnswersContextAsJSON(t *testing.T) {
	cg := startChainGateway(t, `[{"name":"liquid_context_debug","version":"builtin","enabled":true,"configuration":{}},
		{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`)
	a := call(t, "GET", cg.base+"/some/path?user_key="+cg.key+"&page=2", http.Header{"X-Custom": {"v1", "v2"}})
	require.Equal(t, http.StatusOK, a.status, a.body)
	assert.Equal(t, "application/json", a.contentType)
	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(a.body), &got))
	assert.Equal(t, "/some/path", got["uri"])
	assert.Equal(t, "127.0.0.1", got["host"])
	assert.Equal(t, "127.0.0.1", got["remote_addr"])
	assert.Equal(t, "GET", got["http_method"])
	assert.Equal(t, "http", got["scheme"])
	headers := got["headers"].(map[string]any)
	assert.Equal(t, "v1, v2", headers["X-Custom"])
	service := got["service"].(map[string]any)
	assert.Equal(t, float64(cg.f.svc.ID), service["id"])
	assert.Equal(t, cg.f.svc.SystemName, service["system_name"])
	assert.Empty(t, cg.got, "the debug answer is not forwarded")

	a = call(t, "GET", cg.base+"/", nil)
	assert.Equal(t, http.StatusForbidden, a.status, "apicast still asks for credentials")
}

// Secrets never appear: credentials in the query and in headers are masked,
// and the service's secret token is no part of the context.
func TestPolicyLiquidContextDebugMasksSecrets(t *testing.T) {
	f := newGatewayFixture(t, backendUserKey)
	f.proxy(t, func(p *composition.Proxy) {
		p.SecretToken = "s3cr3t-token"
		p.CredentialsLocation = composition.CredentialsHeaders
		p.PolicyChain = policyChain(t, `[{"name":"liquid_context_debug","version":"builtin","enabled":true,"configuration":{}},
			{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`)
	})
	up, _ := echoUpstream(t, "app")
	_, base, _ := startTestGateway(t, f, up.URL, f.placement(f.basic, f.premium), Config{})
	a := call(t, "GET", base+"/?user_key=premium-key&app_key=k2&page=2", http.Header{"User-Key": {"premium-key"},
		"Authorization": {"Bearer abc.def.ghi"}, "Cookie": {"session=xyz"}, "X-3scale-Proxy-Secret-Token": {"s3cr3t-token"}})
	require.Equal(t, http.StatusOK, a.status, a.body)
	for _, secret := range []string{"premium-key", "k2", "abc.def.ghi", "xyz", "s3cr3t-token"} {
		assert.NotContains(t, a.body, secret)
	}
	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(a.body), &got))
	assert.Equal(t, "/?user_key=[masked]&app_key=[masked]&page=2", got["request_uri"])
	assert.Equal(t, "[masked]", got["headers"].(map[string]any)["User-Key"])
}

// BenchmarkPolicyLiquidContextDebug is a request answered by
// [liquid_context_debug, apicast].
func BenchmarkPolicyLiquidContextDebug(b *testing.B) {
	g := edgeBenchGateway(b, `[{"name":"liquid_context_debug","version":"builtin","enabled":true,"configuration":{}},
		{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`)
	runEdgeBench(b, g, httptest.NewRequest(http.MethodGet, "/health?user_key=premium-key", nil))
}
