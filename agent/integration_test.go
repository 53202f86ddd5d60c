package agent_test

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
)

func statusOf(t *testing.T, co *testenv.Coordinator, id string) string {
	in, ok := testenv.FindInstance(co.Map(t), id)
	if !ok {
		return "absent"
	}
	return in.Status
}

func TestAgentPassingWithinOneHeartbeatAndGoneWhenCommandExits(t *testing.T) {
	co := testenv.StartCoordinator(t)
	a := testenv.StartAgent(t, co, "--service", "newsapi", "--port", "3000", "--label", "pool=basic",
		"--heartbeat", "1s", "--ttl", "3s", "--", "sleep", "2")
	id := a.ID()
	start := time.Now()
	require.Eventually(t, func() bool { return statusOf(t, co, id) == registry.StatusPassing }, time.Second, 10*time.Millisecond,
		"passing on the map within one heartbeat")
	t.Logf("passing %v after the local API came up", time.Since(start))
	in, _ := testenv.FindInstance(co.Map(t), id)
	assert.Equal(t, 3000, in.Port)
	assert.Equal(t, map[string]string{"pool": "basic"}, in.Labels)
	assert.Equal(t, "newsapi", in.Service)

	code, exited := a.Wait(10 * time.Second)
	require.True(t, exited)
	assert.Equal(t, 0, code)
	assert.Equal(t, "absent", statusOf(t, co, id), "the instance leaves the map as soon as its command exits")
}

func TestAgentExitCodeAndSignal(t *testing.T) {
	a := testenv.StartAgent(t, nil, "--", "sh", "-c", "exit 7")
	code, exited := a.Wait(10 * time.Second)
	require.True(t, exited)
	assert.Equal(t, 7, code)

	b := testenv.StartAgent(t, nil, "--stop-timeout", "200ms", "--", "sleep", "30")
	b.ID()
	b.Signal(syscall.SIGTERM)
	code, exited = b.Wait(10 * time.Second)
	require.True(t, exited)
	assert.Equal(t, 128+int(syscall.SIGTERM), code)
}

func TestKill9TurnsCriticalWithinTTLThenRemoved(t *testing.T) {
	co := testenv.StartCoordinator(t, "--deregister-critical-after", "1s")
	const ttl = time.Second // the shortest TTL home accepts
	a := testenv.StartAgent(t, co, "--service", "newsapi", "--heartbeat", "300ms", "--ttl", ttl.String(), "--", "sleep", "30")
	id := a.ID()
	require.Eventually(t, func() bool { return statusOf(t, co, id) == registry.StatusPassing }, 2*time.Second, 10*time.Millisecond)

	a.Kill9()
	killed := time.Now()
	require.Eventually(t, func() bool { return statusOf(t, co, id) == registry.StatusCritical }, 2*time.Second, 10*time.Millisecond)
	critical := time.Since(killed)
	assert.Less(t, critical, ttl+300*time.Millisecond, "critical within its TTL (plus the reaper's tick)")
	require.Eventually(t, func() bool { return statusOf(t, co, id) == "absent" }, 3*time.Second, 10*time.Millisecond)
	removed := time.Since(killed)
	assert.GreaterOrEqual(t, removed, critical+time.Second-100*time.Millisecond, "kept while critical for deregister-critical-after")
	t.Logf("critical after %v, removed after %v", critical, removed)
}

func TestAgentsRegisterAgainAfterCoordinatorRestart(t *testing.T) {
	co := testenv.StartCoordinator(t)
	const hb = 500 * time.Millisecond
	var ids []string
	for i := 0; i < 3; i++ {
		a := testenv.StartAgent(t, co, "--service", "newsapi", "--heartbeat", hb.String(), "--ttl", "2s", "--", "sleep", "60")
		ids = append(ids, a.ID())
	}
	for _, id := range ids {
		require.Eventually(t, func() bool { return statusOf(t, co, id) == registry.StatusPassing }, 3*time.Second, 10*time.Millisecond)
	}
	co.Stop()
	co.Start()
	up := time.Now()
	require.Eventually(t, func() bool {
		m := co.Map(t)
		for _, id := range ids {
			if in, ok := testenv.FindInstance(m, id); !ok || in.Status != registry.StatusPassing {
				return false
			}
		}
		return true
	}, 2*hb+300*time.Millisecond, 10*time.Millisecond, "every agent back within two heartbeat intervals")
	t.Logf("all three back %v after the coordinator answered", time.Since(up))
}

// An instance home forgot (deleted here through the agent API) gets 404 on its
// next heartbeat and registers again.
func TestUnknownInstanceRegistersAgain(t *testing.T) {
	co := testenv.StartCoordinator(t)
	a := testenv.StartAgent(t, co, "--service", "newsapi", "--heartbeat", "200ms", "--ttl", "1s", "--", "sleep", "30")
	id := a.ID()
	require.Eventually(t, func() bool { return statusOf(t, co, id) == registry.StatusPassing }, 2*time.Second, 10*time.Millisecond)
	// The instance deregistered with its own credential, which the agent
	// keeps in its cache dir.
	req, _ := http.NewRequest(http.MethodDelete, co.URL+"/v1/instances/"+url.PathEscape(id), nil)
	req.Header.Set("Authorization", "Bearer "+credentialOf(t, a))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "absent", statusOf(t, co, id))
	require.Eventually(t, func() bool { return statusOf(t, co, id) == registry.StatusPassing }, 2*time.Second, 10*time.Millisecond)
	a.Output.Contains(t, "registering again")
}

func TestFailingHealthCheckTurnsCriticalAndBack(t *testing.T) {
	var failing atomic.Bool
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			http.Error(w, "database down", http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	defer app.Close()
	co := testenv.StartCoordinator(t)
	a := testenv.StartAgent(t, co, "--service", "newsapi", "--heartbeat", "300ms", "--ttl", "2s",
		"--check-http", app.URL+"/health", "--check-interval", "100ms", "--", "sleep", "30")
	id := a.ID()
	require.Eventually(t, func() bool { return statusOf(t, co, id) == registry.StatusPassing }, 2*time.Second, 10*time.Millisecond)
	failing.Store(true)
	// On a loaded machine a 100ms check may also time out: wait for the
	// app's own failure to be what home shows.
	require.Eventually(t, func() bool {
		in, _ := testenv.FindInstance(co.Map(t), id)
		return in.Status == registry.StatusCritical && strings.Contains(in.Output, "database down")
	}, 3*time.Second, 10*time.Millisecond, "critical, with the app's answer as output")
	failing.Store(false)
	require.Eventually(t, func() bool { return statusOf(t, co, id) == registry.StatusPassing }, 2*time.Second, 10*time.Millisecond)
}

func TestPlacementFromTheComposition(t *testing.T) {
	co := testenv.StartCoordinator(t)
	sid := co.Create(t, "/admin/api/services.json", "name=News&system_name=newsapi")
	co.Create(t, "/admin/api/services/"+sid+"/application_plans.json", "name=Basic")
	co.Create(t, "/admin/api/services/"+sid+"/application_plans.json", "name=Premium")

	a := testenv.StartAgent(t, co, "--service", "newsapi", "--heartbeat", "200ms", "--ttl", "1s", "--", "sleep", "30")
	a.ID()
	var self map[string]any
	require.Eventually(t, func() bool {
		s, ok := a.Self()
		self = s
		return ok && s["registered"] == true
	}, 3*time.Second, 10*time.Millisecond)
	assert.Equal(t, true, self["home_reachable"])
	placement := self["placement"].(map[string]any)
	assert.Equal(t, "newsapi", placement["service"])
	assert.Len(t, placement["plans"], 2)
	assert.NotNil(t, self["last_heartbeat"])

	b, err := os.ReadFile(a.PlacementFile)
	require.NoError(t, err)
	var file struct {
		Instance string             `json:"instance"`
		Service  string             `json:"service"`
		Plans    []registry.PlanRef `json:"plans"`
	}
	require.NoError(t, json.Unmarshal(b, &file))
	assert.Equal(t, self["id"], file.Instance)
	assert.Equal(t, "newsapi", file.Service)
	require.Len(t, file.Plans, 2)
	assert.Equal(t, "basic", file.Plans[0].SystemName)
	assert.Equal(t, "premium", file.Plans[1].SystemName)
}

// The container works without home: CMD runs and its exit code comes back;
// --wait-home holds CMD only as long as it says.
func TestCommandRunsWithoutHome(t *testing.T) {
	dead := "http://" + testenv.FreeAddr(t)
	marker := t.TempDir() + "/ran"
	a := testenv.StartAgentAt(t, dead, "--service", "newsapi", "--heartbeat", "100ms", "--ttl", "1s",
		"--", "sh", "-c", "touch "+marker+"; exit 3")
	code, exited := a.Wait(10 * time.Second)
	require.True(t, exited)
	assert.Equal(t, 3, code)
	assert.FileExists(t, marker)

	started := time.Now()
	b := testenv.StartAgentAt(t, dead, "--service", "newsapi", "--wait-home", "700ms", "--", "sh", "-c", "touch "+marker+"2")
	_, exited = b.Wait(10 * time.Second)
	require.True(t, exited)
	assert.GreaterOrEqual(t, time.Since(started), 700*time.Millisecond, "CMD held until --wait-home ran out")
	assert.FileExists(t, marker+"2")
	assert.Contains(t, b.Output.String(), "starting the command anyway")
}

// --check-exec: exit 0 passing, 1 warning (Consul's rule); --check-tcp:
// critical once nothing listens.
func TestExecAndTCPChecks(t *testing.T) {
	co := testenv.StartCoordinator(t)
	flag := t.TempDir() + "/healthy"
	require.NoError(t, os.WriteFile(flag, nil, 0o600))
	a := testenv.StartAgent(t, co, "--service", "newsapi", "--heartbeat", "300ms", "--ttl", "2s",
		"--check-exec", "test -f "+flag, "--check-interval", "100ms", "--", "sleep", "30")
	id := a.ID()
	require.Eventually(t, func() bool { return statusOf(t, co, id) == registry.StatusPassing }, 3*time.Second, 10*time.Millisecond)
	require.NoError(t, os.Remove(flag))
	require.Eventually(t, func() bool { return statusOf(t, co, id) == registry.StatusWarning }, 3*time.Second, 10*time.Millisecond)
	require.NoError(t, os.WriteFile(flag, nil, 0o600))
	require.Eventually(t, func() bool { return statusOf(t, co, id) == registry.StatusPassing }, 3*time.Second, 10*time.Millisecond)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	b := testenv.StartAgent(t, co, "--service", "newsapi", "--heartbeat", "300ms", "--ttl", "2s",
		"--check-tcp", ln.Addr().String(), "--check-interval", "100ms", "--", "sleep", "30")
	bid := b.ID()
	require.Eventually(t, func() bool { return statusOf(t, co, bid) == registry.StatusPassing }, 3*time.Second, 10*time.Millisecond)
	ln.Close()
	require.Eventually(t, func() bool { return statusOf(t, co, bid) == registry.StatusCritical }, 3*time.Second, 10*time.Millisecond)
}

// An agent whose app dies deregisters and stays gone: its checks and
// heartbeats stop before it says goodbye, so nothing registers it again.
func TestStaysGoneAfterCommandExits(t *testing.T) {
	co := testenv.StartCoordinator(t)
	app := testenv.FreeAddr(t)
	news := strings.TrimSuffix(testenv.Binary(t), "portolan") + "newsapi"
	a := testenv.StartAgent(t, co, "--service", "news", "--heartbeat", "100ms", "--ttl", "1s",
		"--check-http", "http://"+app+"/health", "--check-interval", "50ms", "--stop-timeout", "2s",
		"--gossip-bind", "127.0.0.1:0", // leaving the cluster takes a moment: a window the loops must not use
		"--", news, "--listen", app)
	id := a.ID()
	// The app answers once it listens, after it set up its signal handling:
	// a SIGTERM before that would kill it (143), not stop it.
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + app + "/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 5*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { return statusOf(t, co, id) == registry.StatusPassing }, 5*time.Second, 10*time.Millisecond)
	a.Signal(syscall.SIGTERM)
	code, exited := a.Wait(10 * time.Second)
	require.True(t, exited)
	assert.Equal(t, 0, code)
	for i := 0; i < 10; i++ {
		assert.Equal(t, "absent", statusOf(t, co, id))
		time.Sleep(100 * time.Millisecond)
	}
}
