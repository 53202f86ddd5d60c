//go:build linux

package supervise_test

import (
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// CMD starts with no signal blocked and none ignored but those the agent
// was started ignoring (testKeepsIgnoredSignals), whatever the agent's own
// mask: here the agent starts with signals blocked, as a parent that forks
// with signals blocked leaves them, and CMD gets none of them blocked, as a
// container's entrypoint expects (tini passes its parent's mask on; Go's
// fork gives CMD an empty one). The agent still forwards the signals it was
// started with blocked.
func testCleanSignalMask(t *testing.T, opts agentOpts) {
	blocked := []syscall.Signal{syscall.SIGTERM, syscall.SIGUSR1, syscall.SIGPIPE, syscall.SIGHUP}
	opts.block = blocked
	a := startAgent(t, opts, helperConfig{Command: sh(`
trap 'ev GOT_USR1' USR1
trap 'ev GOT_TERM; exit 0' TERM
ev "AGENT $(sed -n 's/^SigBlk:[[:space:]]*//p' /proc/$PPID/status)"
ev "CMD $(sed -n 's/^Sig\(Blk\|Ign\):[[:space:]]*//p' /proc/$$/status | tr '\n' ' ')"
ev READY; idle`)})
	a.waitEvent(t, "READY")
	var agentBlk uint64
	var cmdBlk, cmdIgn uint64
	for _, l := range a.lines() {
		if s, ok := strings.CutPrefix(l, "AGENT "); ok {
			agentBlk = testenv.ParseSigMask(t, s)
		}
		if s, ok := strings.CutPrefix(l, "CMD "); ok {
			f := strings.Fields(s)
			require.Len(t, f, 2, "CMD's SigBlk and SigIgn: %q", s)
			cmdBlk, cmdIgn = testenv.ParseSigMask(t, f[0]), testenv.ParseSigMask(t, f[1])
		}
	}
	// The precondition: the agent's main thread still has SIGPIPE blocked
	// (the Go runtime unblocks only the signals it needs).
	require.NotZero(t, agentBlk&testenv.SigBit(syscall.SIGPIPE), "the helper agent started with SIGPIPE blocked (SigBlk %x)", agentBlk)
	assert.Zero(t, cmdBlk, "CMD starts with no signal blocked (SigBlk %x)", cmdBlk)
	assert.Zero(t, cmdIgn&^testenv.GlibcSignals, "CMD starts with no signal ignored (SigIgn %x)", cmdIgn)

	a.signal(t, syscall.SIGUSR1)
	a.waitEvent(t, "GOT_USR1")
	a.signal(t, syscall.SIGTERM)
	rep := a.wait(t)
	assert.Equal(t, 0, rep.Code, "CMD exited on the forwarded SIGTERM (events: %q)", a.lines())
	assert.True(t, a.has("GOT_TERM"), "events: %q", a.lines())
	assertPID1(t, opts, rep)
}

// blockEnv lists the signals TestHelperBlockedExec blocks.
const blockEnv = "PORTOLAN_SUPERVISE_TEST_BLOCK"

// blockedExec returns argv run with sigs blocked, through this test binary
// (TestHelperBlockedExec).
func blockedExec(argv []string, sigs ...syscall.Signal) []string {
	return testenv.BlockedExecArgv(blockEnv, "TestHelperBlockedExec", argv, sigs...)
}

// TestHelperBlockedExec is not a test: see blockedExec. Run otherwise, it
// returns at once.
func TestHelperBlockedExec(t *testing.T) { testenv.ExecBlockedWhenAsked(blockEnv) }
