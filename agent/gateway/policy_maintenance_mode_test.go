package gateway

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func maintenanceChain(conf string) string {
	return `[{"name":"maintenance_mode","version":"builtin","enabled":true,"configuration":` + conf + `},
		{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`
}

// APIcast's "Use maintenance mode using default values": the default status
// (503, "HTTP status code to return"), message ("Service Unavailable -
// Maintenance") and message_content_type ("text/plain; charset=utf-8"), and
// "the upstream doesn't get the request".
func TestPolicyMaintenanceModeDefaults(t *testing.T) {
	cg := startChainGateway(t, maintenanceChain(`{}`))
	a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusServiceUnavailable, a.status)
	assert.Equal(t, "Service Unavailable - Maintenance\n", a.body)
	assert.Equal(t, "text/plain; charset=utf-8", a.contentType)
	assert.Empty(t, cg.got)
	assert.Equal(t, 1.0, policyEvents(cg.reg, "maintenance_mode", "answered"))
}

// status, message and message_content_type set the answer.
func TestPolicyMaintenanceModeCustomAnswer(t *testing.T) {
	cg := startChainGateway(t, maintenanceChain(`{"status":418,"message":"{\"status\":\"back soon\"}","message_content_type":"application/json"}`))
	a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
	assert.Equal(t, 418, a.status)
	assert.Equal(t, "{\"status\":\"back soon\"}\n", a.body)
	assert.Equal(t, "application/json", a.contentType)
}

// With a condition ("combine_op" and or or over operations whose left and
// right are plain or Liquid, op ==, != or matches), only the requests for
// which it holds are answered; the others go on to the upstream.
func TestPolicyMaintenanceModeCondition(t *testing.T) {
	cg := startChainGateway(t, maintenanceChain(`{"condition":{"combine_op":"or","operations":[
		{"left":"{{uri}}","left_type":"liquid","op":"matches","right":"^/v1/"},
		{"left":"{{headers['X-Maintenance']}}","left_type":"liquid","op":"==","right":"yes"}]}}`))
	a := call(t, "GET", cg.base+"/v1/things?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusServiceUnavailable, a.status)
	a = call(t, "GET", cg.base+"/v2/things?user_key="+cg.key, http.Header{"X-Maintenance": {"yes"}})
	assert.Equal(t, http.StatusServiceUnavailable, a.status)
	a = call(t, "GET", cg.base+"/v2/things?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusOK, a.status)
	assert.Equal(t, "app", a.body)

	cg = startChainGateway(t, maintenanceChain(`{"condition":{"combine_op":"and","operations":[
		{"left":"{{uri}}","left_type":"liquid","op":"matches","right":"^/v1/"},
		{"left":"{{http_method}}","left_type":"liquid","op":"!=","right":"GET"}]}}`))
	a = call(t, "GET", cg.base+"/v1/things?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusOK, a.status, "and: the method is GET")
}

// The manifest: "It allows to select a list of Upstream URLs for which to
// enable the maintenance mode"; APIcast's maintenance_mode.t ("Maintenance
// mode works with upstream policy + matching upstream condition", "... works
// with api-backend") writes the condition's left as "{{ upstream.host }}:{{
// upstream.port }}{{ upstream.path }}": the upstream policy's choice before
// it, else the service's upstream.
func TestPolicyMaintenanceModeConditionOnTheUpstream(t *testing.T) {
	other, _ := routeOther(t)
	otherU, err := url.Parse(other.URL)
	require.NoError(t, err)
	cg := startChainGateway(t, `[{"name":"upstream","version":"builtin","enabled":true,"configuration":{"rules":[
			{"regex":"^/backend1","url":"`+other.URL+`/b1/"}]}},
		{"name":"maintenance_mode","version":"builtin","enabled":true,"configuration":{"condition":{"combine_op":"and","operations":[
			{"left":"{{ upstream.host }}:{{ upstream.port }}{{ upstream.path }}","left_type":"liquid","op":"==","right":"`+otherU.Host+`/b1/"}]}}},
		{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`)
	a := call(t, "GET", cg.base+"/backend1?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusServiceUnavailable, a.status, "the upstream chosen is under maintenance")
	assert.Equal(t, "Service Unavailable - Maintenance\n", a.body)
	a = call(t, "GET", cg.base+"/backend2?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusOK, a.status, "the service's upstream is not")
	assert.Equal(t, "app", a.body)

	// "Maintenance mode is applied with routing policy + matching upstream
	// condition": the route's URL path joined with its replace_path.
	cg = startChainGateway(t, `[{"name":"routing","version":"builtin","enabled":true,"configuration":{"rules":[
			{"url":"`+other.URL+`/b1/","replace_path":"/v2","condition":{"operations":[{"match":"path","op":"matches","value":"^/backend1"}]}},
			{"url":"`+other.URL+`/b2/","replace_path":"/v2","condition":{"operations":[{"match":"path","op":"matches","value":"^/backend2"}]}}]}},
		{"name":"maintenance_mode","version":"builtin","enabled":true,"configuration":{"condition":{"combine_op":"and","operations":[
			{"left":"{{ upstream.host }}:{{ upstream.port }}{{ upstream.path }}","left_type":"liquid","op":"==","right":"`+otherU.Host+`/b1/v2"}]}}},
		{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`)
	a = call(t, "GET", cg.base+"/backend1?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusServiceUnavailable, a.status, "the route to /b1/v2 is under maintenance")
	a = call(t, "GET", cg.base+"/backend2?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusOK, a.status, "the route to /b2/v2 is not")
	assert.Equal(t, "other", a.body)

	cg = startChainGateway(t, maintenanceChain(`{"condition":{"combine_op":"and","operations":[
		{"left":"{{ upstream.scheme }}://{{ upstream.host }}:{{ upstream.port }}","left_type":"liquid","op":"matches","right":"^http://127\\.0\\.0\\.1:[0-9]+$"}]}}`))
	a = call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusServiceUnavailable, a.status, "the service's upstream is under maintenance")
}

// The answer comes in the access phase, as APIcast's: after the apicast
// element's rewrite phase asked for credentials.
func TestPolicyMaintenanceModeAnswersInAccessPhase(t *testing.T) {
	cg := startChainGateway(t, maintenanceChain(`{}`))
	a := call(t, "GET", cg.base+"/", nil)
	assert.Equal(t, http.StatusForbidden, a.status)
	assert.Contains(t, a.body, "Authentication parameters missing")
}

// The schema's types and enums: status an integer (and an HTTP status),
// combine_op and or or, op ==, != or matches, left and right required.
func TestPolicyMaintenanceModeInvalidConfigurationFailsClosed(t *testing.T) {
	for conf, field := range map[string]string{
		`{"status":"503"}`: "status",
		`{"status":42}`:    "status",
		`{"condition":{"combine_op":"xor","operations":[{"left":"a","op":"==","right":"a"}]}}`:              "condition.combine_op",
		`{"condition":{"combine_op":"and","operations":[]}}`:                                                "condition.operations",
		`{"condition":{"combine_op":"and","operations":[{"left":"a","op":"~=","right":"a"}]}}`:              "condition.operations[0].op",
		`{"condition":{"combine_op":"and","operations":[{"left":"a","op":"=="}]}}`:                          "condition.operations[0].right",
		`{"condition":{"combine_op":"and","operations":[{"left":"a","op":"matches","right":"(unclosed"}]}}`: "condition.operations[0].right",
	} {
		cg := startChainGateway(t, maintenanceChain(conf))
		a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
		assert.Equal(t, http.StatusServiceUnavailable, a.status, conf)
		assert.Contains(t, a.body, "configuration."+field+":", conf)
	}
}

// BenchmarkPolicyMaintenanceMode is a request through [maintenance_mode,
// apicast] whose condition does not hold, so it is forwarded.
func BenchmarkPolicyMaintenanceMode(b *testing.B) {
	g := edgeBenchGateway(b, maintenanceChain(`{"condition":{"combine_op":"and","operations":[
		{"left":"{{uri}}","left_type":"liquid","op":"==","right":"/down"}]}}`))
	runEdgeBench(b, g, httptest.NewRequest(http.MethodGet, "/health?user_key=premium-key", nil))
}
