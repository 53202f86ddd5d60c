package agent_test

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/agent"
	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
)

// listenLater is an app that starts listening on addr only when told:
// until then its check fails as a booting app's does.
func listenLater(t *testing.T, addr string) (start, stop func()) {
	var srv *http.Server
	start = func() {
		ln, err := net.Listen("tcp", addr)
		require.NoError(t, err)
		srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })}
		go func() { _ = srv.Serve(ln) }()
	}
	stop = func() {
		if srv != nil {
			_ = srv.Close()
		}
	}
	t.Cleanup(stop)
	return start, stop
}

// selfStatus is the status the agent's local API shows ("" while it is not up).
func selfStatus(a *testenv.Agent) string {
	self, ok := a.Self()
	if !ok {
		return ""
	}
	s, _ := self["status"].(string)
	return s
}

// An app that takes a while to listen is "starting" (a warning, out of
// traffic) until its check first passes, never critical; once it has
// passed, an app that stops answering turns critical at the next check.
func TestFirstCheckWaitsForTheAppToListen(t *testing.T) {
	co := testenv.StartCoordinator(t)
	app := testenv.FreeAddr(t)
	start, stop := listenLater(t, app)
	a := testenv.StartAgent(t, co, "--service", "news", "--heartbeat", "200ms", "--ttl", "1s",
		"--check-http", "http://"+app+"/health", "--check-interval", "100ms", "--", "sleep", "60")
	id := a.ID()

	// Boot: several failing checks while home hears of the instance.
	require.Eventually(t, func() bool { return statusOf(t, co, id) != "absent" }, 5*time.Second, 10*time.Millisecond)
	seen := map[string]bool{}
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		seen[selfStatus(a)] = true
		seen[statusOf(t, co, id)] = true
	}
	assert.Equal(t, map[string]bool{registry.StatusWarning: true}, seen, "starting is a warning, at the agent and at home")
	self, _ := a.Self()
	assert.True(t, strings.HasPrefix(self["output"].(string), "starting: "), self["output"])

	start()
	require.Eventually(t, func() bool {
		s, h := selfStatus(a), statusOf(t, co, id)
		seen[s], seen[h] = true, true
		return s == registry.StatusPassing && h == registry.StatusPassing
	}, 5*time.Second, 10*time.Millisecond)
	assert.False(t, seen[registry.StatusCritical], "never critical while starting: %v", seen)

	// After start-up a dead app counts at once: critical within a few
	// checks, as without a start period.
	stop()
	require.Eventually(t, func() bool { return statusOf(t, co, id) == registry.StatusCritical }, 3*time.Second, 10*time.Millisecond)
}

// An app that never listens is critical once the start period is over.
func TestStartPeriodEnds(t *testing.T) {
	a := testenv.StartAgentAt(t, "", "--check-tcp", testenv.FreeAddr(t), "--check-interval", "100ms",
		"--check-start-period", "1s", "--", "sleep", "60")
	a.ID()
	assert.Equal(t, registry.StatusWarning, selfStatus(a))
	require.Eventually(t, func() bool { return selfStatus(a) == registry.StatusCritical }, 5*time.Second, 10*time.Millisecond)
}

// The agent's probes on --metrics-listen: live while the agent serves,
// ready once the app's check passes, both without a token and by HEAD too.
func TestAgentProbes(t *testing.T) {
	app := testenv.FreeAddr(t)
	start, _ := listenLater(t, app)
	metricsAddr := testenv.FreeAddr(t)
	a := testenv.StartAgentAt(t, "", "--metrics-listen", metricsAddr, "--check-tcp", app, "--check-interval", "100ms",
		"--", "sleep", "60")
	a.ID()
	base := "http://" + metricsAddr

	live := get(t, base+agent.PathHealthLive)
	assert.Equal(t, reply{http.StatusOK, "ok\n"}, live)
	ready := get(t, base+agent.PathHealthReady)
	assert.Equal(t, http.StatusServiceUnavailable, ready.status, "not ready while the app starts")
	assert.JSONEq(t, `{"status":"unavailable","running":true,"check":"warning"}`, ready.body)

	start()
	require.Eventually(t, func() bool { return get(t, base+agent.PathHealthReady).status == http.StatusOK }, 5*time.Second, 10*time.Millisecond)
	assert.JSONEq(t, `{"status":"ok","running":true,"check":"passing"}`, get(t, base+agent.PathHealthReady).body)
	for _, path := range []string{agent.PathHealthLive, agent.PathHealthReady} {
		resp, err := http.Head(base + path)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, "HEAD %s", path)
	}
}
