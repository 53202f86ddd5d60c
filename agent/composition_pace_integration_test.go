package agent_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// agentRequests counts the requests home's agent API has answered, by
// method, from home's own metrics (none before the first).
func agentRequests(t *testing.T, co *testenv.Coordinator) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	mf := scrape(t, "http://"+co.Addr+"/metrics")["portolan_http_requests_total"]
	for _, m := range mf.GetMetric() {
		if l := labelsOf(m); l["api"] == "agents" {
			out[l["method"]] += m.GetCounter().GetValue()
		}
	}
	return out
}

// A home with no revision yet answers a composition read at once (index 0
// does not block): the agent paces its asking instead of spinning on it,
// so it sends a few reads per heartbeat (about one a second), not
// thousands.
func TestAgentPacesTheCompositionWatchOfAnEmptyHome(t *testing.T) {
	co := testenv.StartCoordinator(t)
	require.Zero(t, co.Revision(t), "a fresh home has no revision")
	testenv.StartAgent(t, co, "--service", "news", "--heartbeat", "500ms", "--", "sleep", "60")

	var got map[string]float64
	require.Eventually(t, func() bool {
		got = agentRequests(t, co)
		return got["put"] >= 8 // registration and heartbeats
	}, 30*time.Second, 50*time.Millisecond, "the agent registers and heartbeats")
	require.LessOrEqual(t, got["get"], 5*got["put"]+10,
		"reads per heartbeat of an agent of an empty home: %v", got)
}
