package agent

import (
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// While --wait-home holds CMD, a SIGHUP or SIGWINCH (a terminal resized, a
// reload asked of an app not started yet) leaves the wait alone; a SIGTERM
// ends the agent before CMD starts.
func TestWaitHomeStopsOnlyOnATermination(t *testing.T) {
	dead := "http://" + testenv.FreeAddr(t)
	marker := t.TempDir() + "/ran"
	a := testenv.StartAgentAt(t, dead, "--service", "newsapi", "--wait-home", "30s", "--", "sh", "-c", "touch "+marker)
	time.Sleep(500 * time.Millisecond) // the agent is up and waiting
	a.Signal(syscall.SIGHUP)
	a.Signal(syscall.SIGWINCH)
	_, exited := a.Wait(700 * time.Millisecond)
	require.False(t, exited, "a SIGHUP or SIGWINCH stopped the wait:\n%s", a.Output.String())

	a.Signal(syscall.SIGTERM)
	code, exited := a.Wait(10 * time.Second)
	require.True(t, exited)
	assert.Equal(t, 1, code)
	assert.Contains(t, a.Output.String(), "stopped while waiting for home")
	_, err := os.Stat(marker)
	assert.True(t, os.IsNotExist(err), "CMD started after the SIGTERM")
}

// A stop asked while the agent starts, before the supervisor takes the
// signals over, is kept: CMD is not started only to be killed later.
func TestStopAskedBeforeTheCommandStarts(t *testing.T) {
	held := make(chan os.Signal, 8)
	assert.NoError(t, stopAsked(held), "nothing held")
	held <- syscall.SIGWINCH
	held <- syscall.SIGHUP
	assert.NoError(t, stopAsked(held), "signals for a CMD that does not exist yet are dropped")
	held <- syscall.SIGWINCH
	held <- syscall.SIGTERM
	assert.ErrorContains(t, stopAsked(held), "terminated before the command started")
	held <- syscall.SIGINT
	assert.ErrorContains(t, stopAsked(held), "interrupt before the command started")
}
