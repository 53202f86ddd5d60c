package agent_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// The usage spool's seq file only keeps batch numbers rising across runs;
// each run's batch ids carry its own instance id, and numbering goes on past
// every file the spool holds. So an agent that finds it damaged (a bad disk,
// a power cut) says so and starts, runs its app and serves, rather than
// keep the container down; the usage its journal held from before is
// reported once, and new usage is counted as well.
func TestAgentStartsOnADamagedUsageSequenceFile(t *testing.T) {
	co := testenv.StartCoordinator(t)
	app, key := usageService(t, co, "seqapi", "period=day&value=1000000000")
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))
	t.Cleanup(upstream.Close)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(upstream.URL, "http://"))
	gw := testenv.FreeAddr(t)
	args := func(interval string, extra ...string) []string {
		return append(append([]string{"--service", "seqapi", "--address", "127.0.0.1", "--port", port,
			"--gateway-listen", gw, "--upstream", upstream.URL, "--report-interval", interval,
			"--heartbeat", "300ms", "--ttl", "2s"}, extra...), "--", "sleep", "600")
	}
	// It reports once an hour: what it serves stays in its journal.
	a := testenv.StartAgent(t, co, args("1h")...)
	url := "http://" + gw + "/items?user_key=" + key
	require.Eventually(t, func() bool { return get(t, url).status == http.StatusOK }, 15*time.Second, 20*time.Millisecond, "gateway serving")
	const before = 5
	for i := 1; i < before; i++ {
		require.Equal(t, http.StatusOK, get(t, url).status)
	}
	a.Kill9()
	seq := filepath.Join(a.CacheDir, "usage", "seq")
	_, err := os.Stat(seq)
	require.NoError(t, err, "the spool keeps its sequence file")
	require.NoError(t, os.WriteFile(seq, []byte("\x00\x17garbage"), 0o600))

	b := testenv.StartAgent(t, co, args("200ms", "--cache-dir", a.CacheDir)...)
	require.Eventually(t, func() bool { return get(t, url).status == http.StatusOK }, 15*time.Second, 20*time.Millisecond,
		"the agent on the damaged spool serves:\n%s", b.Output.String())
	require.Eventually(t, func() bool { return homeHits(t, co, app) >= before+1 }, 15*time.Second, 50*time.Millisecond)
	time.Sleep(time.Second) // a few more report intervals: nothing more arrives
	assert.Equal(t, int64(before+1), homeHits(t, co, app), "the journal's usage from before the kill, once, and the request after it")
	b.Output.Contains(t, "usage sequence file") // the agent says what it found
}
