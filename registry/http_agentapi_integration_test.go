package registry_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
)

func TestAgentAPILifecycle(t *testing.T) {
	co := testenv.StartCoordinator(t)
	createService(t, co, "news")

	reply := register(t, co, "news-host-1a2b", registration("news"))
	assert.Equal(t, "news-host-1a2b", reply.ID)
	assert.Equal(t, "news", reply.Placement.Service)
	assert.NotZero(t, reply.Placement.ServiceID)
	assert.Equal(t, co.Revision(t), reply.Revision)
	assert.Equal(t, registry.Duration(2*time.Second), reply.HeartbeatInterval)
	assert.Equal(t, registry.Duration(6*time.Second), reply.TTL)
	assert.Equal(t, registry.Duration(30*time.Second), reply.DeregisterCriticalAfter)

	m, _ := getMap(t, co, "")
	in, ok := findInstance(m, "news-host-1a2b")
	require.True(t, ok)
	assert.Equal(t, registry.StatusPassing, in.Status)
	assert.Equal(t, "127.0.0.1", in.Address)
	assert.Equal(t, 3000, in.Port)
	assert.Equal(t, "test", in.AgentVersion)

	cred := reply.Credential
	a := agentCall(t, co.URL, "PUT", "/v1/instances/news-host-1a2b/heartbeat", cred,
		`{"status":"warning","output":"slow","revision":1}`)
	require.Equal(t, http.StatusOK, a.status, a.body)
	var hb registry.HeartbeatReply
	a.json(t, &hb)
	assert.Equal(t, co.Revision(t), hb.Revision)
	assert.Nil(t, hb.Placement)
	m, _ = getMap(t, co, "?service=news")
	require.Len(t, m.Services, 1)
	in, _ = findInstance(m, "news-host-1a2b")
	assert.Equal(t, registry.StatusWarning, in.Status)
	assert.Equal(t, "slow", in.Output)

	a = agentCall(t, co.URL, "PUT", "/v1/instances/news-host-1a2b/drain", cred, "")
	require.Equal(t, http.StatusOK, a.status, a.body)
	m, _ = getMap(t, co, "")
	in, _ = findInstance(m, "news-host-1a2b")
	assert.Equal(t, registry.StatusDraining, in.Status)

	a = agentCall(t, co.URL, "DELETE", "/v1/instances/news-host-1a2b", cred, "")
	require.Equal(t, http.StatusOK, a.status, a.body)
	m, _ = getMap(t, co, "")
	_, ok = findInstance(m, "news-host-1a2b")
	assert.False(t, ok, "removed at once")

	for _, c := range []struct{ method, path, body string }{
		{"PUT", "/v1/instances/news-host-1a2b/heartbeat", `{"status":"passing"}`},
		{"PUT", "/v1/instances/news-host-1a2b/drain", ""},
		{"DELETE", "/v1/instances/news-host-1a2b", ""},
	} {
		a = agentCall(t, co.URL, c.method, c.path, cred, c.body)
		assert.Equal(t, http.StatusNotFound, a.status, "%s %s: %s", c.method, c.path, a.body)
		assert.Equal(t, "unknown instance: register again", a.errorMessage(t))
	}

	metrics := agentCall(t, co.URL, "GET", "/metrics", "", "").body
	assert.Contains(t, metrics, "portolan_registry_registrations_total 1")
	// The heartbeat after deregistration was answered 404 before the
	// registry: its credential went with the instance.
	assert.Contains(t, metrics, "portolan_registry_heartbeats_total 1")
	assert.Contains(t, metrics, `portolan_registry_instances{status="passing"} 0`)
	assert.Contains(t, metrics, "portolan_registry_deregistrations_total 1")
	assert.Contains(t, metrics, `portolan_http_requests_total{api="agents"`)

	assert.NotContains(t, co.Output.String(), agentToken, "tokens are never logged")
	assert.NotContains(t, co.Output.String(), cred, "credentials are never logged")
}

func TestAgentAPIBadInput(t *testing.T) {
	co := testenv.StartCoordinator(t)
	known := register(t, co, "known", registration("news")).Credential
	idx := func() uint64 { m, _ := getMap(t, co, ""); return m.Index }
	before := idx()

	good := mustJSON(t, registration("news"))
	huge := `{"service":"news","address":"127.0.0.1","output":"` + strings.Repeat("x", registry.MaxBodyBytes) + `"}`
	cases := []struct {
		name, path, body string
		status           int
		mentions         string
	}{
		{"register: malformed JSON", "/v1/instances/x", `{"service": "news"`, 400, "malformed JSON registration"},
		{"register: syntax error", "/v1/instances/x", `{"service": news}`, 400, "malformed JSON registration at byte"},
		{"register: empty body", "/v1/instances/x", ``, 400, "empty"},
		{"register: not an object", "/v1/instances/x", `["news"]`, 400, "must be a JSON object"},
		{"register: unknown field", "/v1/instances/x", `{"service":"news","address":"a","colour":"red"}`, 400, `unknown field "colour"`},
		{"register: wrong type", "/v1/instances/x", `{"service":"news","address":"a","port":"80"}`, 400, `field "port": expected an integer`},
		{"register: wrong label type", "/v1/instances/x", `{"service":"news","address":"a","labels":{"a":1}}`, 400, `"labels`},
		{"register: bad ttl", "/v1/instances/x", `{"service":"news","address":"a","ttl":"soon"}`, 400, "ttl"},
		{"register: trailing data", "/v1/instances/x", good + `{}`, 400, "after the JSON object"},
		{"register: bad id", "/v1/instances/a%20b", good, 400, "id "},
		{"register: long id", "/v1/instances/" + strings.Repeat("a", 129), good, 400, "id is too long"},
		{"register: no service", "/v1/instances/x", `{"address":"127.0.0.1"}`, 400, "service is required"},
		{"register: bad service", "/v1/instances/x", `{"service":"a b","address":"127.0.0.1"}`, 400, "service is not a valid system_name"},
		{"register: no address", "/v1/instances/x", `{"service":"news"}`, 400, "address is required"},
		{"register: bad address", "/v1/instances/x", `{"service":"news","address":"a b"}`, 400, "address must be"},
		{"register: bad port", "/v1/instances/x", `{"service":"news","address":"a","port":70000}`, 400, "port must be between 0 and 65535"},
		{"register: bad status", "/v1/instances/x", `{"service":"news","address":"a","status":"great"}`, 400, "status must be"},
		{"register: oversized", "/v1/instances/x", huge, 413, "65536"},
		{"heartbeat: malformed JSON", "/v1/instances/known/heartbeat", `{"status":`, 400, "malformed JSON heartbeat"},
		{"heartbeat: empty body", "/v1/instances/known/heartbeat", ``, 400, "empty"},
		{"heartbeat: unknown field", "/v1/instances/known/heartbeat", `{"status":"passing","state":"ok"}`, 400, `unknown field "state"`},
		{"heartbeat: wrong type", "/v1/instances/known/heartbeat", `{"status":"passing","revision":"7"}`, 400, `field "revision"`},
		{"heartbeat: missing status", "/v1/instances/known/heartbeat", `{"output":"x"}`, 400, "status is required"},
		{"heartbeat: bad status", "/v1/instances/known/heartbeat", `{"status":"draining"}`, 400, "status must be"},
		{"heartbeat: long output", "/v1/instances/known/heartbeat",
			`{"status":"passing","output":"` + strings.Repeat("x", registry.MaxOutputLen+1) + `"}`, 400, "output is too long"},
		{"heartbeat: oversized", "/v1/instances/known/heartbeat", `{"status":"passing","output":"` + strings.Repeat("x", 100<<10) + `"}`, 413, "65536"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tok := agentToken
			if strings.HasSuffix(c.path, "/heartbeat") {
				tok = known
			}
			a := agentCall(t, co.URL, "PUT", c.path, tok, c.body)
			assert.Equal(t, c.status, a.status, a.body)
			assert.Contains(t, a.header.Get("Content-Type"), "application/json")
			assert.Contains(t, a.errorMessage(t), c.mentions)
		})
	}
	for _, q := range []string{"?index=x", "?index=-1", "?wait=soon", "?wait=-5s"} {
		for _, p := range []string{"/v1/map", "/v1/composition"} {
			a := agentCall(t, co.URL, "GET", p+q, known, "")
			assert.Equal(t, http.StatusBadRequest, a.status, "%s%s: %s", p, q, a.body)
			assert.NotEmpty(t, a.errorMessage(t))
		}
	}
	assert.Equal(t, before, idx(), "nothing bad was registered")
}
