package agent_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
)

// The start period is the app's time to start, as Docker's start period is
// the container's: it counts from CMD's start, not from the agent's. An
// agent that held CMD while waiting for home (--wait-home, home down) gives
// the app its whole start period once CMD runs, not what the wait left.
func TestStartPeriodCountsFromTheCommandStart(t *testing.T) {
	dead := "http://" + testenv.FreeAddr(t)
	app := testenv.FreeAddr(t)
	start, _ := listenLater(t, app)
	a := testenv.StartAgentAt(t, dead, "--service", "news", "--wait-home", "2s",
		"--check-http", "http://"+app+"/health", "--check-interval", "100ms", "--check-start-period", "1500ms",
		"--", "sleep", "60")
	require.Eventually(t, func() bool { self, ok := a.Self(); return ok && self["running"] == true },
		15*time.Second, 10*time.Millisecond, "CMD starts once the wait is over")

	// The app boots for a second: it is starting, never critical.
	seen := map[string]bool{}
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		seen[selfStatus(a)] = true
	}
	assert.Equal(t, map[string]bool{registry.StatusWarning: true}, seen, "the app is starting, its period not spent by the wait")

	start()
	require.Eventually(t, func() bool { return selfStatus(a) == registry.StatusPassing }, 5*time.Second, 10*time.Millisecond)
}
