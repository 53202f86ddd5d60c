package agent_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/agent"
	"github.com/portolan/portolan/internal/testenv"
)

// Secrets the composition of TestTheLocalAPIServesNoSecret holds.
const (
	knownUserKey     = "known-user-key-5f2c9a"
	knownPassword    = "known-password-8d1e7b"
	knownProxySecret = "known-proxy-secret-3a6f0c"
)

// The local API has no authentication and used to serve the whole
// composition, every application key and the proxy secret token with it:
// now no endpoint serves any secret, whatever the composition holds.
func TestTheLocalAPIServesNoSecret(t *testing.T) {
	co := testenv.StartCoordinator(t)
	var svc struct {
		Service struct{ ID int64 } `json:"service"`
	}
	adminCall(t, co, "POST", "/admin/api/services.json", "name=News&system_name=news", &svc)
	sid := svc.Service.ID
	adminCall(t, co, "PATCH", fmt.Sprintf("/admin/api/services/%d/proxy.json", sid), "secret_token="+knownProxySecret, nil)
	var plan struct {
		Plan struct{ ID int64 } `json:"application_plan"`
	}
	adminCall(t, co, "POST", fmt.Sprintf("/admin/api/services/%d/application_plans.json", sid), "name=Basic", &plan)
	var signup struct {
		Account struct{ ID int64 } `json:"account"`
	}
	adminCall(t, co, "POST", "/admin/api/signup.json",
		"org_name=Acme&username=alice&email=alice@example.com&password="+knownPassword, &signup)
	var app struct {
		App struct {
			VerificationKey string `json:"provider_verification_key"`
		} `json:"application"`
	}
	adminCall(t, co, "POST", fmt.Sprintf("/admin/api/accounts/%d/applications.json", signup.Account.ID),
		fmt.Sprintf("name=mobile&plan_id=%d&user_key=%s", plan.Plan.ID, knownUserKey), &app)
	require.NotEmpty(t, app.App.VerificationKey)

	metricsAddr := testenv.FreeAddr(t)
	a := testenv.StartAgent(t, co, "--service", "news", "--metrics-listen", metricsAddr, "--heartbeat", "300ms", "--ttl", "1s", "--", "sleep", "60")
	a.ID()
	want := co.Revision(t)
	require.Eventually(t, func() bool { rev, _ := agentComposition(t, a); return rev == want }, 5*time.Second, 20*time.Millisecond)

	// "$argon2id$" starts a stored password hash: no secret, but no business
	// of the local API either.
	secrets := []string{knownUserKey, knownPassword, knownProxySecret, app.App.VerificationKey, "$argon2id$", co.Token, testenv.AgentToken}
	for _, u := range []string{
		"http://" + a.API + "/v1/agent/self", "http://" + a.API + "/v1/agent/health", "http://" + a.API + "/v1/agent/composition",
		"http://" + a.API + "/v1/agent/map", "http://" + a.API + "/metrics", "http://" + metricsAddr + "/metrics",
	} {
		r := get(t, u)
		require.Equal(t, http.StatusOK, r.status, "%s: %s", u, r.body)
		for _, s := range secrets {
			assert.False(t, strings.Contains(r.body, s), "%s serves the secret %q", u, s)
		}
	}

	// What an operator needs is still there.
	var view agent.CompositionView
	require.NoError(t, json.Unmarshal([]byte(get(t, "http://"+a.API+"/v1/agent/composition").body), &view))
	assert.Equal(t, agent.ViewFormat, view.Format)
	assert.Equal(t, want, view.Revision)
	require.Len(t, view.Services, 1)
	assert.Equal(t, "news", view.Services[0].SystemName)
	require.Len(t, view.ApplicationPlans, 1)
	assert.Equal(t, "basic", view.ApplicationPlans[0].SystemName)
	assert.Equal(t, 1, view.Counts["applications"])
}

// --metrics-listen serves /metrics and nothing of the local API, so it can
// be exposed to Prometheus while the local API stays on loopback.
func TestMetricsListenServesOnlyMetrics(t *testing.T) {
	metricsAddr := testenv.FreeAddr(t)
	a := testenv.StartAgentAt(t, "", "--metrics-listen", metricsAddr, "--", "sleep", "60")
	a.ID()
	m := get(t, "http://"+metricsAddr+"/metrics")
	require.Equal(t, http.StatusOK, m.status, m.body)
	assert.Contains(t, m.body, "portolan_agent_health")
	for _, path := range []string{"/v1/agent/self", "/v1/agent/health", "/v1/agent/composition", "/v1/agent/map"} {
		assert.Equal(t, http.StatusNotFound, get(t, "http://"+metricsAddr+path).status, path)
	}
	assert.Equal(t, http.StatusOK, get(t, "http://"+a.API+"/metrics").status, "the local API keeps its /metrics")
}

// A request whose body is declared and never sent held a local API
// connection forever; it is now cut after --body-timeout, on the local API
// and the metrics listener alike.
func TestABodyThatNeverComesDoesNotHoldTheLocalAPI(t *testing.T) {
	metricsAddr := testenv.FreeAddr(t)
	a := testenv.StartAgentAt(t, "", "--metrics-listen", metricsAddr, "--body-timeout", "300ms", "--", "sleep", "60")
	a.ID()
	for _, target := range []string{a.API + " /v1/agent/self", metricsAddr + " /metrics"} {
		addr, path, _ := strings.Cut(target, " ")
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		_, err = io.WriteString(conn, "GET "+path+" HTTP/1.1\r\nHost: agent\r\nContent-Length: 1000\r\n\r\n{")
		require.NoError(t, err)
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
		start := time.Now()
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		require.NoError(t, err, target)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		_, err = io.ReadAll(br)
		assert.NoError(t, err, "%s: the agent closed the connection", target)
		assert.Less(t, time.Since(start), 5*time.Second, target)
		conn.Close()
	}
}

// The local API bounds the size of a request's headers.
func TestTheLocalAPIBoundsHeaders(t *testing.T) {
	a := testenv.StartAgentAt(t, "", "--", "sleep", "60")
	a.ID()
	req, err := http.NewRequest(http.MethodGet, "http://"+a.API+"/v1/agent/self", nil)
	require.NoError(t, err)
	req.Header.Set("X-Big", strings.Repeat("a", 32<<10))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.StatusCode)
}
