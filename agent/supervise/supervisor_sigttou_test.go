//go:build linux

package supervise_test

import (
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The agent ignores SIGTTOU once CMD runs, and forks CMD with it handled so
// that CMD gets the default action; but an agent started with SIGTTOU
// ignored passes that on, as tini does (it restores, in the child, the
// SIGTTIN and SIGTTOU actions it was started with) and as the agent did
// before it ignored SIGTTOU itself: its parent asked for it. (The default
// case is TestAgentOnATostopTerminalIsNotStoppedByItsOwnLogs: here the test
// process itself ignores SIGTTOU once a test has spawned a child in it.)
func TestCommandKeepsSIGTTOUIgnoredWhenTheAgentStartedSo(t *testing.T) {
	a := startAgent(t, agentOpts{ignore: "TTOU"}, helperConfig{Command: sh(`
ev "SIGIGN $(sed -n 's/^SigIgn:[[:space:]]*//p' /proc/$$/status)"`)})
	rep := a.wait(t)
	require.Equal(t, 0, rep.Code, "events: %q", a.lines())
	var ignored uint64
	for _, l := range a.lines() {
		if s, ok := strings.CutPrefix(l, "SIGIGN "); ok {
			var err error
			ignored, err = strconv.ParseUint(s, 16, 64)
			require.NoError(t, err, "CMD's SigIgn %q", s)
		}
	}
	assert.NotZero(t, ignored&(1<<(syscall.SIGTTOU-1)),
		"CMD ignores SIGTTOU, as the agent was started ignoring it (SigIgn %x)", ignored)
}
