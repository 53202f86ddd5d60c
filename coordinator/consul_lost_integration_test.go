package coordinator_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/portolan/portolan/coordinator"
	"github.com/portolan/portolan/internal/testenv"
)

// A Consul that loses the composition under a running coordinator (a dev
// agent restarted, a cluster rebuilt, a snapshot from before restored) is
// not mistaken for another coordinator's write: the coordinator says in its
// log and its readiness that Consul is behind it, refuses writes with 503
// rather than a 409 asking for a retry that can never succeed, and goes on
// serving reads from the composition it holds, which an operator can still
// export.
func TestConsulThatLostTheCompositionIsReportedNotRetried(t *testing.T) {
	cs := testenv.StartConsul(t)
	co := testenv.StartCoordinator(t, "--consul", cs.URL, "--consul-prefix", "lost/")
	sid := co.Create(t, "/admin/api/services.json", "name=Kept&system_name=kept")

	cs.Restart() // a dev agent keeps nothing: the composition is gone from Consul
	var code int
	var body string
	assert.Eventually(t, func() bool {
		code, body = probe(t, co, http.MethodGet, coordinator.PathHealthReady)
		return code == http.StatusServiceUnavailable && readinessCheck(t, body, "store") == "behind"
	}, 20*time.Second, 100*time.Millisecond, "readiness names the store")
	assert.Equal(t, http.StatusServiceUnavailable, code, body)
	assert.Equal(t, "behind", readinessCheck(t, body, "store"), body)
	assert.Equal(t, "ok", readinessCheck(t, body, "consul"), "Consul itself answers")
	co.Output.Contains(t, "Consul lost the composition", "portolan export") // what happened and what to do

	got := send(t, co, http.MethodPost, "/admin/api/services.json", "application/x-www-form-urlencoded", "name=New&system_name=new")
	assert.Equal(t, http.StatusServiceUnavailable, got.status, "a write is refused, not asked to retry: %s", got.body)
	got = send(t, co, http.MethodGet, "/admin/api/services/"+sid+".json", "", "")
	assert.Equal(t, http.StatusOK, got.status, "reads serve the composition held: %s", got.body)
}

// readinessCheck is one check's word in a /health/ready answer.
func readinessCheck(t *testing.T, body, name string) string {
	t.Helper()
	_, checks := readiness(t, body)
	return checks[name]
}
