package agent_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/testenv"
)

// cacheCopy is a new cache dir holding copies of files of the cache dir
// from (an earlier agent's), as a restarted container finds its volume.
func cacheCopy(t *testing.T, from string, files ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(from, f))
		require.NoError(t, err, f)
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), b, 0o600))
	}
	return dir
}

// agentComposition reads GET /v1/agent/composition: the revision, or 0.
func agentComposition(t *testing.T, a *testenv.Agent) (uint64, *composition.Document) {
	resp, err := http.Get("http://" + a.API + "/v1/agent/composition")
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, nil
	}
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var d composition.Document
	require.NoError(t, json.Unmarshal(b, &d))
	rev, err := strconv.ParseUint(resp.Header.Get("X-Portolan-Index"), 10, 64)
	require.NoError(t, err)
	assert.Equal(t, d.Revision, rev)
	return rev, &d
}

func createService(t *testing.T, co *testenv.Coordinator, name string) {
	co.Create(t, "/admin/api/services.json", "name="+name)
}

// The agent follows home's composition, keeps it in --cache-dir, and when it
// restarts while home is down it serves the cached one.
func TestAgentFollowsAndCachesTheComposition(t *testing.T) {
	co := testenv.StartCoordinator(t)
	createService(t, co, "news")
	a := testenv.StartAgent(t, co, "--service", "news", "--heartbeat", "300ms", "--ttl", "1s", "--", "sleep", "60")
	a.ID()
	require.Eventually(t, func() bool { rev, _ := agentComposition(t, a); return rev == co.Revision(t) }, 5*time.Second, 20*time.Millisecond)

	createService(t, co, "weather")
	want := co.Revision(t)
	changed := time.Now()
	require.Eventually(t, func() bool { rev, _ := agentComposition(t, a); return rev == want }, 3*time.Second, 10*time.Millisecond)
	t.Logf("the agent had revision %d %v after the write", want, time.Since(changed))
	_, doc := agentComposition(t, a)
	require.Len(t, doc.Services, 1, "the agent's view holds its own service only")
	assert.Equal(t, "news", doc.Services[0].SystemName)

	a.Kill9()
	co.Stop()
	b := testenv.StartAgent(t, co, "--service", "news", "--cache-dir", a.CacheDir, "--heartbeat", "300ms", "--ttl", "1s", "--", "sleep", "60")
	b.ID()
	rev, doc := agentComposition(t, b)
	assert.Equal(t, want, rev, "the restarted agent serves the cached composition with home down")
	require.NotNil(t, doc)
	assert.Len(t, doc.Services, 1)
	self, ok := b.Self()
	require.True(t, ok)
	assert.Equal(t, false, self["home_reachable"])
}
