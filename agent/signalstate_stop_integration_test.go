//go:build linux

package agent_test

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/portolan/portolan/internal/testenv"
)

// CMD's signal state, through the real agent binary started as a script's
// background job would start it (SIGINT and SIGQUIT ignored) under nohup
// (SIGHUP ignored), by a parent that also left signals blocked: CMD starts
// with no signal blocked, and ignores SIGHUP and SIGINT, as under tini, so
// that the hang-up or Ctrl-C meant for the script does not end it. SIGQUIT
// is not kept ignored: Go's runtime takes over every signal but those two
// before the agent's code runs, so the agent cannot know it was ignored
// (supervise.ForwardedSignals).
func TestCommandStartsWithACleanSignalState(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "sigstate")
	for _, tc := range []struct {
		name    string
		wrap    string // how the agent is started
		wantIgn uint64
	}{
		{"clean", `exec "$AGENT" "$@"`, 0},
		{"ignored and blocked", `trap '' HUP INT QUIT
exec env ` + blockEnv + `=10,13,14 "$TESTBIN" -test.run='^TestHelperBlockedExec$' -- "$AGENT" "$@"`,
			sigBit(syscall.SIGHUP) | sigBit(syscall.SIGINT)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			script := filepath.Join(t.TempDir(), "start-agent")
			body := fmt.Sprintf("#!/bin/sh\nAGENT=%q\nTESTBIN=%q\n%s\n", testenv.AgentBinary(t), os.Args[0], tc.wrap)
			require.NoError(t, os.WriteFile(script, []byte(body), 0o755))
			file := out + "-" + strings.ReplaceAll(tc.name, " ", "-")
			// sed reads its own state, exec'd in sh's place: dash runs
			// any other command with every signal blocked around its vfork,
			// then clears its own mask, so reading sh's state, or that of
			// a child sh forked, would show all blocked or none, whatever
			// CMD was given.
			a := testenv.StartAgentOf(t, script, "", "--", "sh", "-c",
				`exec sed -n 's/^Sig\(Blk\|Ign\):[[:space:]]*//p' /proc/self/status > "$0"`, file)
			code, exited := a.Wait(30 * time.Second)
			require.True(t, exited, "the agent exits with its command")
			require.Equal(t, 0, code, "agent output:\n%s", a.Output.String())
			b, err := os.ReadFile(file)
			require.NoError(t, err)
			f := strings.Fields(string(b))
			require.Len(t, f, 2, "CMD's SigBlk and SigIgn: %q", b)
			blk, ign := parseMask(t, f[0]), parseMask(t, f[1])
			assert.Zero(t, blk, "CMD starts with no signal blocked (SigBlk %x)", blk)
			assert.Equal(t, tc.wantIgn, ign&^glibcSignals, "CMD's ignored signals (SigIgn %x)", ign)
		})
	}
}

func sigBit(sig syscall.Signal) uint64 { return 1 << (sig - 1) }

// glibcSignals are signals 32 and 33, glibc's own (thread cancellation,
// setxid): Go's runtime installs no handler for them, so one the agent was
// started ignoring (some CI harnesses start every process so) stays
// ignored for CMD, as under tini, and glibc sets its own at CMD's start.
// They say nothing of what the agent does.
const glibcSignals = 1<<31 | 1<<32

func parseMask(t *testing.T, s string) uint64 {
	t.Helper()
	m, err := strconv.ParseUint(strings.TrimSpace(s), 16, 64)
	require.NoError(t, err, "a signal mask from /proc: %q", s)
	return m
}

// blockEnv lists the signals TestHelperBlockedExec blocks.
const blockEnv = "PORTOLAN_AGENT_TEST_BLOCK"

// TestHelperBlockedExec is not a test: run as `env PORTOLAN_AGENT_TEST_BLOCK=N,M
// agent.test -test.run=^TestHelperBlockedExec$ -- ARGV`, it blocks signals
// N, M on the thread that calls execve, and execs ARGV in its place, which
// inherits that mask.
func TestHelperBlockedExec(t *testing.T) {
	list := os.Getenv(blockEnv)
	if list == "" {
		t.Skip("a launcher of TestCommandStartsWithACleanSignalState, which runs it itself")
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
