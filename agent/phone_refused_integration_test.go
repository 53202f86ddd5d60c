package agent_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// TestWrongTokenIsRefusedNotUnreachable: an agent whose home refuses its
// token says so, once, shows it on its local API and keeps running its
// command; it never calls home unreachable, and asks again slowly rather
// than every heartbeat.
func TestWrongTokenIsRefusedNotUnreachable(t *testing.T) {
	co := testenv.StartCoordinator(t)
	const wrong = "not-a-join-token-at-all"
	a := testenv.StartAgent(t, co, "--token", wrong, "--service", "newsapi", "--heartbeat", "100ms", "--ttl", "1s", "--", "sleep", "60")
	a.ID()

	// Two refused registrations: the second is the retry, after which the
	// log still holds one line about it.
	require.Eventually(t, func() bool {
		return strings.Contains(get(t, "http://"+a.API+"/metrics").body, `portolan_agent_registrations_total{result="error"} 2`)
	}, 10*time.Second, 20*time.Millisecond)
	out := a.Output.String()
	assert.Equal(t, 1, strings.Count(out, "home refused the token (HTTP 401)"), out)
	assert.Contains(t, out, "check --token")
	assert.NotContains(t, out, "home unreachable")
	assert.NotContains(t, out, wrong, "the token is never logged")

	self, ok := a.Self()
	require.True(t, ok)
	assert.Equal(t, true, self["home_refused"])
	assert.Equal(t, true, self["home_reachable"], "home answered")
	assert.Equal(t, false, self["registered"])
	assert.Equal(t, true, self["running"], "the command keeps running")
	assert.Contains(t, self["last_error"], "401")

}
