//go:build linux

package supervise_test

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
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
			agentBlk = parseMask(t, s)
		}
		if s, ok := strings.CutPrefix(l, "CMD "); ok {
			f := strings.Fields(s)
			require.Len(t, f, 2, "CMD's SigBlk and SigIgn: %q", s)
			cmdBlk, cmdIgn = parseMask(t, f[0]), parseMask(t, f[1])
		}
	}
	// The precondition: the agent's main thread still has SIGPIPE blocked
	// (the Go runtime unblocks only the signals it needs).
	require.NotZero(t, agentBlk&sigBit(syscall.SIGPIPE), "the helper agent started with SIGPIPE blocked (SigBlk %x)", agentBlk)
	assert.Zero(t, cmdBlk, "CMD starts with no signal blocked (SigBlk %x)", cmdBlk)
	assert.Zero(t, cmdIgn&^glibcSignals, "CMD starts with no signal ignored (SigIgn %x)", cmdIgn)

	a.signal(t, syscall.SIGUSR1)
	a.waitEvent(t, "GOT_USR1")
	a.signal(t, syscall.SIGTERM)
	rep := a.wait(t)
	assert.Equal(t, 0, rep.Code, "CMD exited on the forwarded SIGTERM (events: %q)", a.lines())
	assert.True(t, a.has("GOT_TERM"), "events: %q", a.lines())
	assertPID1(t, opts, rep)
}

func sigBit(sig syscall.Signal) uint64 { return 1 << (sig - 1) }

// glibcSignals are signals 32 and 33, glibc's own (thread cancellation,
// setxid): Go's runtime installs no handler for them, so one the agent was
// started ignoring (some CI harnesses start every process so) stays
// ignored for CMD, as under tini, and glibc sets its own at CMD's start.
// They say nothing of what the supervisor does.
const glibcSignals = 1<<31 | 1<<32

func parseMask(t *testing.T, s string) uint64 {
	t.Helper()
	m, err := strconv.ParseUint(strings.TrimSpace(s), 16, 64)
	require.NoError(t, err, "a signal mask from /proc: %q", s)
	return m
}

// blockEnv lists the signals TestHelperBlockedExec blocks.
const blockEnv = "PORTOLAN_SUPERVISE_TEST_BLOCK"

// blockedExec returns argv run with sigs blocked: through this test binary
// (TestHelperBlockedExec), which blocks them and execs argv in its place.
func blockedExec(argv []string, sigs ...syscall.Signal) []string {
	nums := make([]string, len(sigs))
	for i, s := range sigs {
		nums[i] = strconv.Itoa(int(s))
	}
	return append([]string{"env", blockEnv + "=" + strings.Join(nums, ","),
		os.Args[0], "-test.run=^TestHelperBlockedExec$", "--"}, argv...)
}

// TestHelperBlockedExec is not a test: see blockedExec. It blocks the
// signals on the thread that calls execve, whose mask the new program
// inherits.
func TestHelperBlockedExec(t *testing.T) {
	list := os.Getenv(blockEnv)
	if list == "" {
		t.Skip("a launcher of the supervisor tests; they run it themselves")
	}
	argv := flag.Args()
	runtime.LockOSThread()
	var set unix.Sigset_t
	bits := int(unsafe.Sizeof(set.Val[0])) * 8
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			fmt.Fprintln(os.Stderr, "blocked exec: bad signal", f)
			os.Exit(99)
		}
		set.Val[(n-1)/bits] |= 1 << ((n - 1) % bits)
	}
	path, err := exec.LookPath(argv[0])
	if err == nil {
		err = unix.PthreadSigmask(unix.SIG_BLOCK, &set, nil)
	}
	if err == nil {
		err = syscall.Exec(path, argv, os.Environ())
	}
	fmt.Fprintln(os.Stderr, "blocked exec:", err)
	os.Exit(99)
}
