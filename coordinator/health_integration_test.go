package coordinator_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/coordinator"
	"github.com/portolan/portolan/internal/testenv"
)

// probe asks a coordinator's probe with method, without a token, and
// returns the status code and body.
func probe(t *testing.T, co *testenv.Coordinator, method, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+co.Addr+path, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// readiness decodes a /health/ready answer.
func readiness(t *testing.T, body string) (status string, checks map[string]string) {
	t.Helper()
	var r struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &r), body)
	return r.Status, r.Checks
}

func TestProbesAnswerWithoutAToken(t *testing.T) {
	co := testenv.StartCoordinator(t)

	code, body := probe(t, co, http.MethodGet, coordinator.PathHealthLive)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "ok\n", body)
	code, body = probe(t, co, http.MethodGet, coordinator.PathHealthReady)
	assert.Equal(t, http.StatusOK, code, body)
	status, checks := readiness(t, body)
	assert.Equal(t, "ok", status)
	assert.Equal(t, map[string]string{"store": "ok", "usage": "ok"}, checks, "a bbolt home has no Consul to check")

	for _, path := range []string{coordinator.PathHealthLive, coordinator.PathHealthReady} {
		code, body = probe(t, co, http.MethodHead, path)
		assert.Equal(t, http.StatusOK, code, "HEAD %s", path)
		assert.Empty(t, body, "HEAD %s", path)
		code, _ = probe(t, co, http.MethodPost, path)
		assert.Equal(t, http.StatusMethodNotAllowed, code, "POST %s", path)
	}

	// Probes are not counted per request: the API's figures stay the API's.
	_, metrics := probe(t, co, http.MethodGet, "/metrics")
	assert.NotContains(t, metrics, "health")
}

// In Consul mode the coordinator is ready while its Consul agent answers;
// with Consul gone it says so (and only so), and stays live.
func TestReadyNamesConsulWhenConsulIsGone(t *testing.T) {
	consul := testenv.StartConsul(t)
	co := testenv.StartCoordinator(t, "--consul", consul.URL, "--consul-prefix", "probes/")

	code, body := probe(t, co, http.MethodGet, coordinator.PathHealthReady)
	require.Equal(t, http.StatusOK, code, body)
	_, checks := readiness(t, body)
	assert.Equal(t, map[string]string{"store": "ok", "usage": "ok", "consul": "ok"}, checks)

	consul.Stop()
	require.Eventually(t, func() bool {
		code, body = probe(t, co, http.MethodGet, coordinator.PathHealthReady)
		return code == http.StatusServiceUnavailable
	}, 10*time.Second, 100*time.Millisecond, "ready after Consul stopped: %d %s", code, body)
	status, checks := readiness(t, body)
	assert.Equal(t, "unavailable", status)
	assert.Equal(t, map[string]string{"store": "ok", "usage": "ok", "consul": "unreachable"}, checks)
	assert.NotContains(t, body, consul.URL, "the answer names no address")

	code, _ = probe(t, co, http.MethodGet, coordinator.PathHealthLive)
	assert.Equal(t, http.StatusOK, code, "live while Consul is away")
}
