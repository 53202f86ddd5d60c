package gateway

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// chainGateway is a running gateway whose service has the given policy
// chain (apicast appended when absent, as 3scale stores it) in front of an
// echo upstream: the harness of the policy tests.
type chainGateway struct {
	f     *gatewayFixture
	g     *Gateway
	base  string // the gateway's URL
	got   chan *http.Request
	reg   *prometheus.Registry
	up    string // the upstream's URL
	basic string // a user_key of the basic plan (5 hits a minute)
	key   string // a user_key of the unlimited plan
}

// policyChain parses a chain written as JSON.
func policyChain(t testing.TB, chainJSON string) []composition.PolicyConfig {
	t.Helper()
	var chain []composition.PolicyConfig
	require.NoError(t, json.Unmarshal([]byte(chainJSON), &chain))
	for i := range chain {
		if !json.Valid(chain[i].Configuration) {
			chain[i].Configuration = json.RawMessage(`{}`)
		}
	}
	return chain
}

func startChainGateway(t *testing.T, chainJSON string) *chainGateway {
	t.Helper()
	f := newGatewayFixture(t, backendUserKey)
	chain := policyChain(t, chainJSON)
	f.proxy(t, func(p *composition.Proxy) { p.PolicyChain = chain })
	up, got := echoUpstream(t, "app")
	g, base, reg := startTestGateway(t, f, up.URL, f.placement(f.basic, f.premium), Config{})
	return &chainGateway{f: f, g: g, base: base, got: got, reg: reg, up: up.URL, basic: "basic-key", key: "premium-key"}
}

func policyEvents(reg *prometheus.Registry, policyName, event string) float64 {
	return counterValue(reg, "portolan_agent_gateway_policy_events_total", "policy", policyName, "event", event)
}

// A policy the gateway does not run makes the whole service fail closed:
// 503 naming the policy, counted, never skipped.
func TestChainUnknownPolicyFailsClosed(t *testing.T) {
	cg := startChainGateway(t, `[{"name":"llm","version":"builtin","configuration":{},"enabled":true},
		{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`)
	a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusServiceUnavailable, a.status)
	assert.Contains(t, a.body, `policy "llm"`)
	assert.Contains(t, a.body, "the Portolan gateway does not run this policy")
	assert.Equal(t, 1.0, requests(cg.reg, "policy_chain_failed"))
	assert.Equal(t, 1.0, policyEvents(cg.reg, "llm", "fail_closed"))
	assert.Empty(t, cg.got, "nothing reaches the app")
}

// APIcast leaves a disabled policy out of the chain ("enabled": false), so
// an unknown but disabled one does not stop the service.
func TestChainDisabledPolicyIsLeftOut(t *testing.T) {
	cg := startChainGateway(t, `[{"name":"llm","version":"builtin","configuration":{},"enabled":false}]`)
	a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusOK, a.status)
	assert.Equal(t, "app", a.body)
}
