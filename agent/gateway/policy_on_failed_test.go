package gateway

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

const onFailedApicast = `{"name":"apicast","version":"builtin","configuration":{},"enabled":true}`

func onFailed(conf string) string {
	return `{"name":"on_failed","version":"builtin","enabled":true,"configuration":` + conf + `}`
}

// The manifest: "When a policy fails, this policy allows to set an error
// message back to the user and stop processing the request to the upstream
// API"; error_status_code: "Status code that will send to the user if any
// policy fails" (APIcast's on_failed test 3, "return provided status
// code", with 401). A policy whose configuration the gateway refuses makes
// the service fail closed with that status instead of 503, wherever
// on_failed stands in the chain; the answer still names the policy, and
// the failure is counted as any other.
func TestPolicyOnFailedAnswersItsStatus(t *testing.T) {
	cg := startChainGateway(t, `[{"name":"maintenance_mode","version":"builtin","enabled":true,"configuration":{"status":42}},
		`+onFailed(`{"error_status_code":401}`)+`,`+onFailedApicast+`]`)
	a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusUnauthorized, a.status)
	assert.Contains(t, a.body, "Unauthorized: the policy chain of service")
	assert.Contains(t, a.body, `policy "maintenance_mode"`)
	assert.Contains(t, a.body, "configuration.status:")
	assert.Equal(t, 1.0, requests(cg.reg, "policy_chain_failed"))
	assert.Equal(t, 1.0, policyEvents(cg.reg, "maintenance_mode", "fail_closed"))
	assert.Empty(t, cg.got, "nothing reaches the upstream")

	cg = startChainGateway(t, `[`+onFailed(`{"error_status_code":418}`)+`,
		{"name":"llm","version":"builtin","configuration":{},"enabled":true},`+onFailedApicast+`]`)
	a = call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusTeapot, a.status, "on_failed before the policy that fails")
	assert.Contains(t, a.body, `policy "llm"`)
	assert.Equal(t, 1.0, requests(cg.reg, "policy_chain_failed"))
	assert.Equal(t, 1.0, policyEvents(cg.reg, "llm", "fail_closed"))

	// The schema's exclusiveMaximum is 700: 6xx is a status too.
	cg = startChainGateway(t, `[{"name":"llm","version":"builtin","configuration":{},"enabled":true},
		`+onFailed(`{"error_status_code":699}`)+`,`+onFailedApicast+`]`)
	a = call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
	assert.Equal(t, 699, a.status)
	assert.Contains(t, a.body, `policy "llm"`)
}

// APIcast's on_failed test 1, "policy with invalid configuration return
// 503": error_status_code defaults to 503.
func TestPolicyOnFailedDefaultsTo503(t *testing.T) {
	cg := startChainGateway(t, `[{"name":"llm","version":"builtin","configuration":{},"enabled":true},
		`+onFailed(`{}`)+`,`+onFailedApicast+`]`)
	a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusServiceUnavailable, a.status)
	assert.Contains(t, a.body, "Service Unavailable: the policy chain of service")
	assert.Contains(t, a.body, `policy "llm"`)
}

// A chain that builds has nothing to fail: on_failed is inert, and the
// other policies' answers keep their own status (the apicast element's
// 403 without credentials). Disabled, it is left out as any policy.
func TestPolicyOnFailedInertWhenNothingFails(t *testing.T) {
	cg := startChainGateway(t, `[`+onFailed(`{"error_status_code":401}`)+`,`+onFailedApicast+`]`)
	a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusOK, a.status)
	assert.Equal(t, "app", a.body)
	a = call(t, "GET", cg.base+"/", nil)
	assert.Equal(t, http.StatusForbidden, a.status)

	cg = startChainGateway(t, `[{"name":"llm","version":"builtin","configuration":{},"enabled":true},
		{"name":"on_failed","version":"builtin","enabled":false,"configuration":{"error_status_code":401}},`+onFailedApicast+`]`)
	a = call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusServiceUnavailable, a.status, "a disabled on_failed is left out")
}

// The schema: error_status_code an integer, minimum 100, exclusiveMaximum
// 700; an interim status (1xx) is refused too, since it ends no request.
// An on_failed that is itself invalid fails the chain and gives no status:
// 503, naming the field.
func TestPolicyOnFailedInvalidConfigurationFailsClosed(t *testing.T) {
	for _, conf := range []string{`{"error_status_code":"401"}`, `{"error_status_code":99}`, `{"error_status_code":700}`,
		`{"error_status_code":150}`, `{"error_status_code":401.5}`} {
		cg := startChainGateway(t, `[`+onFailed(conf)+`,`+onFailedApicast+`]`)
		a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
		assert.Equal(t, http.StatusServiceUnavailable, a.status, conf)
		assert.Contains(t, a.body, `policy "on_failed"`, conf)
		assert.Contains(t, a.body, "configuration.error_status_code:", conf)
		assert.Equal(t, 1.0, policyEvents(cg.reg, "on_failed", "fail_closed"), conf)

		cg = startChainGateway(t, `[{"name":"llm","version":"builtin","configuration":{},"enabled":true},`+onFailed(conf)+`,`+onFailedApicast+`]`)
		a = call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
		assert.Equal(t, http.StatusServiceUnavailable, a.status, "llm and %s", conf)
	}
}
