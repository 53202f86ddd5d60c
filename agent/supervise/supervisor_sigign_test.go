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

// A signal the agent was started with ignored stays ignored in CMD, as
// under tini, whose signal configuration test (test/sigconf) starts it with
// SIGINT ignored and expects CMD to have it ignored still: `nohup portolan
// agent -- app` keeps the app alive when the terminal hangs up, and a
// script's background job keeps ignoring the Ctrl-C meant for the script.
// The agent does not turn such a signal into a fatal one by forwarding it.
// A scenario: TestSupervisor/KeepsIgnoredSignals and TestPID1/….
func testKeepsIgnoredSignals(t *testing.T, opts agentOpts) {
	opts.ignore = "HUP INT"
	a := startAgent(t, opts, helperConfig{Command: sh(`
trap 'ev GOT_TERM; exit 0' TERM
ev "SIGIGN $(sed -n 's/^SigIgn:[[:space:]]*//p' /proc/$$/status)"
ev READY; idle`)})
	a.waitEvent(t, "READY")
	var ignored uint64
	for _, l := range a.lines() {
		if s, ok := strings.CutPrefix(l, "SIGIGN "); ok {
			var err error
			ignored, err = strconv.ParseUint(s, 16, 64)
			require.NoError(t, err, "CMD's SigIgn %q", s)
		}
	}
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGINT} {
		assert.NotZero(t, ignored&(1<<(sig-1)), "CMD ignores %v, as the agent was started ignoring it (SigIgn %x)", sig, ignored)
	}
	a.signal(t, syscall.SIGHUP) // the hang-up nohup is there for
	a.signal(t, syscall.SIGINT)
	a.signal(t, syscall.SIGTERM)
	rep := a.wait(t)
	assert.Equal(t, 0, rep.Code, "CMD survived SIGHUP and SIGINT and exited on SIGTERM (events: %q)", a.lines())
	assert.True(t, a.has("GOT_TERM"), "events: %q", a.lines())
	assertPID1(t, opts, rep)
}
