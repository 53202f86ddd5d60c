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
// reload asked of an app not started yet) leaves the wait alone; a SIGTERM,
// SIGINT, SIGQUIT or SIGRTMIN+3 ends the agent before CMD starts, with the code a shell gives a
// death by that signal (128+N: docker stop reports 143), as when CMD runs.
func TestWaitHomeStopsOnlyOnATermination(t *testing.T) {
	// SIGQUIT and SIGRTMIN+3 are images' stop signals (nginx's, systemd's
	// STOPSIGNAL): docker stop sends them, and dropped they would leave the
	// agent to the runtime's SIGKILL.
	for _, stop := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT, syscall.Signal(34 + 3)} {
		t.Run(stop.String(), func(t *testing.T) {
			dead := "http://" + testenv.FreeAddr(t)
			marker := t.TempDir() + "/ran"
			a := testenv.StartAgentAt(t, dead, "--service", "newsapi", "--wait-home", "30s", "--", "sh", "-c", "touch "+marker)
			require.Eventually(t, func() bool { _, up := a.Self(); return up }, 30*time.Second, 20*time.Millisecond,
				"the agent is up and waiting")
			a.Signal(syscall.SIGHUP)
			a.Signal(syscall.SIGWINCH)
			_, exited := a.Wait(700 * time.Millisecond)
			require.False(t, exited, "a SIGHUP or SIGWINCH stopped the wait:\n%s", a.Output.String())

			a.Signal(stop)
			code, exited := a.Wait(30 * time.Second)
			require.True(t, exited)
			assert.Equal(t, 128+int(stop), code, "the agent exits as one killed by %v", stop)
			assert.Contains(t, a.Output.String(), "stopped while waiting for home: "+stop.String())
			_, err := os.Stat(marker)
			assert.True(t, os.IsNotExist(err), "CMD started after the %v", stop)
		})
	}
}

// A stop asked while the agent starts, before the supervisor takes the
// signals over, is kept: CMD is not started only to be killed later, and
// the agent exits with 128+N, as when CMD runs and dies of signal N.
func TestStopAskedBeforeTheCommandStarts(t *testing.T) {
	held := make(chan os.Signal, 8)
	assert.NoError(t, stopAsked(held), "nothing held")
	held <- syscall.SIGWINCH
	held <- syscall.SIGHUP
	assert.NoError(t, stopAsked(held), "signals for a CMD that does not exist yet are dropped")
	held <- syscall.SIGWINCH
	held <- syscall.SIGTERM
	err := stopAsked(held)
	assert.ErrorContains(t, err, "terminated before the command started")
	assert.Equal(t, 143, exitCodeOf(err), "the agent exits as one killed by SIGTERM")
	held <- syscall.SIGINT
	err = stopAsked(held)
	assert.ErrorContains(t, err, "interrupt before the command started")
	assert.Equal(t, 130, exitCodeOf(err), "the agent exits as one killed by SIGINT")
}
