//go:build linux

package supervise_test

import (
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// A TTY app keeps working in its own process group: the agent hands the
// terminal's foreground to CMD's group, so reading the terminal does not stop
// CMD with SIGTTIN.
func TestTerminalForegroundGoesToCMD(t *testing.T) {
	t.Parallel()
	master, slave := testenv.OpenPTY(t)
	go func() { _, _ = io.Copy(io.Discard, master) }() // the terminal's echo
	a := startAgent(t, agentOpts{stdio: slave}, helperConfig{Command: sh(`
ev READY
IFS= read -r line; ev "IN $line"
ev "STAT $(cat /proc/$$/stat)"
exit 4`)})
	a.waitEvent(t, "READY")
	_, err := master.Write([]byte("typed\n"))
	require.NoError(t, err)
	rep := a.wait(t)
	assert.Equal(t, 4, rep.Code)
	assert.True(t, a.has("IN typed"), "CMD read the terminal: %q", a.lines())
	for _, l := range a.lines() {
		if s, ok := strings.CutPrefix(l, "STAT "); ok {
			st, _ := parseStat(s)
			assert.Equal(t, st.pid, st.pgrp, "CMD leads its own process group")
			assert.Equal(t, st.pgrp, st.tpgid, "CMD's group is the terminal's foreground group")
		}
	}
}
