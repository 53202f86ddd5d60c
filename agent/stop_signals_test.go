//go:build linux

package agent_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// During the drain, the agent still forwards every other signal as it
// comes (SIGINT and SIGQUIT included, as tini), and a CMD that exits on one
// ends the stop at once: the agent exits with CMD's code, not after the
// drain.
func TestSignalsDuringTheDrainReachTheCommand(t *testing.T) {
	events := filepath.Join(t.TempDir(), "events")
	a := testenv.StartAgentAt(t, "", "--drain", "2m", "--stop-timeout", "2s", "--", "sh", "-c", `
ev() { echo "$*" >> "$0"; }
trap 'ev GOT_TERM' TERM
trap 'ev GOT_INT' INT
trap 'ev GOT_QUIT; exit 3' QUIT
ev READY
while :; do sleep 0.05; done`, events)
	lines := func() []string {
		b, _ := os.ReadFile(events)
		return strings.Fields(string(b))
	}
	has := func(ev string) func() bool {
		return func() bool { return strings.Contains(strings.Join(lines(), " "), ev) }
	}
	require.Eventually(t, has("READY"), 15*time.Second, 10*time.Millisecond)
	a.Signal(syscall.SIGTERM) // the drain starts: SIGTERM is not forwarded yet
	require.Eventually(t, func() bool { return strings.Contains(a.Output.String(), "stopping") }, 15*time.Second, 10*time.Millisecond)
	a.Signal(syscall.SIGINT)
	require.Eventually(t, has("GOT_INT"), 15*time.Second, 10*time.Millisecond, "SIGINT reached CMD during the drain")
	sent := time.Now()
	a.Signal(syscall.SIGQUIT)
	code, exited := a.Wait(30 * time.Second)
	require.True(t, exited, "the agent exits once CMD has, without waiting out the drain")
	assert.Less(t, time.Since(sent), time.Minute, "well within the 2m drain")
	assert.Equal(t, 3, code, "the agent exits with CMD's code")
	assert.Equal(t, []string{"READY", "GOT_INT", "GOT_QUIT"}, lines(), "SIGTERM was not forwarded during the drain")
}
