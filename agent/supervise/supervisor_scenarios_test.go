//go:build linux

package supervise_test

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// scenarios run both with the helper as an ordinary child process of the
// test (TestSupervisor) and as PID 1 of a new PID namespace (TestPID1).
var scenarios = []struct {
	name string
	run  func(t *testing.T, opts agentOpts)
}{
	{"ExitCodes", testExitCodes},
	{"Stdio", testStdio},
	{"ForwardedSignals", testForwardedSignals},
	{"StopTimeoutEscalatesToSIGKILL", testStopTimeout},
	{"Drain", testDrain},
	{"SignalGroup", testSignalGroup},
	{"ReapsOrphans", testReapsOrphans},
	{"KeepsIgnoredSignals", testKeepsIgnoredSignals},
	{"CleanSignalMask", testCleanSignalMask},
}

func TestSupervisor(t *testing.T) {
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			sc.run(t, agentOpts{})
		})
	}
}

// CMD's exit status, or 128+N for signal N, is what Run returns and what the
// agent exits with.
func testExitCodes(t *testing.T, opts agentOpts) {
	for _, tc := range []struct {
		script string
		want   int
	}{
		{"exit 0", 0},
		{"exit 7", 7},
		{"kill -TERM $$", 128 + 15},
		{"kill -KILL $$", 128 + 9},
	} {
		t.Run(tc.script, func(t *testing.T) {
			t.Parallel()
			a := startAgent(t, opts, helperConfig{Command: sh(tc.script)})
			rep := a.wait(t)
			assert.Equal(t, tc.want, rep.Code)
			assertPID1(t, opts, rep)
		})
	}
}

// CMD gets the agent's own stdin, stdout and stderr (the same open files,
// no pipes), and runs in a process group of its own.
func testStdio(t *testing.T, opts agentOpts) {
	a := startAgent(t, opts, helperConfig{Command: sh(`
IFS= read -r line; ev "IN $line"
echo "OUT from CMD"; echo "ERR from CMD" >&2
ev "FD0 $(readlink /proc/$$/fd/0)"
ev "FD1 $(readlink /proc/$$/fd/1)"
ev "FD2 $(readlink /proc/$$/fd/2)"
ev "STAT $(cat /proc/$$/stat)"`)})
	rep := a.wait(t)
	assert.Equal(t, 0, rep.Code)
	assertPID1(t, opts, rep)
	assert.True(t, a.has("IN a line of input"), "CMD read the agent's stdin: %q", a.lines())
	out, _ := os.ReadFile(a.stdout)
	assert.Contains(t, string(out), "OUT from CMD")
	errb, _ := os.ReadFile(a.stderr)
	assert.Contains(t, string(errb), "ERR from CMD")
	for fd, path := range []string{a.stdin, a.stdout, a.stderr} {
		assert.True(t, a.has(fmt.Sprintf("FD%d %s", fd, path)), "CMD's fd %d is the agent's file %s: %q", fd, path, a.lines())
	}
	var stat procInfo
	for _, l := range a.lines() {
		if s, ok := strings.CutPrefix(l, "STAT "); ok {
			stat, _ = parseStat(s)
		}
	}
	require.NotZero(t, stat.pid, "CMD's stat: %q", a.lines())
	assert.Equal(t, stat.pid, stat.pgrp, "CMD leads its own process group")
	assert.Equal(t, rep.CMDPID, stat.pid)
	assert.Equal(t, rep.PID, stat.ppid, "CMD is the agent's child")
}

// Each forwarded signal reaches CMD (tini's set, with the real-time
// signals an image may stop with); SIGTERM last, which CMD exits on.
func testForwardedSignals(t *testing.T, opts agentOpts) {
	a := startAgent(t, opts, helperConfig{Command: sh(`
for s in HUP INT QUIT USR1 USR2 WINCH ALRM PWR; do trap "ev GOT_$s" $s; done
trap "ev GOT_RTMIN+3" 37
trap 'ev GOT_TERM; exit 42' TERM
ev READY; idle`)})
	a.waitEvent(t, "READY")
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH,
		syscall.SIGALRM, syscall.SIGPWR} {
		a.signal(t, sig)
		a.waitEvent(t, "GOT_"+strings.TrimPrefix(unix.SignalName(sig), "SIG"))
	}
	a.signal(t, syscall.Signal(37)) // SIGRTMIN+3, systemd's stop signal
	a.waitEvent(t, "GOT_RTMIN+3")
	a.signal(t, syscall.SIGTERM)
	rep := a.wait(t)
	assert.Equal(t, 42, rep.Code)
	assertPID1(t, opts, rep)
	assert.Equal(t, []string{"READY", "GOT_HUP", "GOT_INT", "GOT_QUIT", "GOT_USR1", "GOT_USR2", "GOT_WINCH", "GOT_ALRM", "GOT_PWR",
		"GOT_RTMIN+3", "STOPPING", "GOT_TERM"}, a.lines(),
		"every signal reached CMD once, and OnStopping ran before SIGTERM was forwarded")
}

// A CMD that does not exit on SIGTERM is killed with SIGKILL after
// StopTimeout: 137.
func testStopTimeout(t *testing.T, opts agentOpts) {
	const stopTimeout = 300 * time.Millisecond
	a := startAgent(t, opts, helperConfig{StopTimeout: stopTimeout, Command: sh(`
trap 'ev GOT_TERM' TERM
ev READY; idle; ev "NOT KILLED"`)})
	a.waitEvent(t, "READY")
	sent := time.Now()
	a.signal(t, syscall.SIGTERM)
	a.waitEvent(t, "GOT_TERM")
	rep := a.wait(t)
	elapsed := time.Since(sent)
	assert.Equal(t, 128+9, rep.Code, "CMD died of SIGKILL")
	assertPID1(t, opts, rep)
	assert.GreaterOrEqual(t, elapsed, stopTimeout, "SIGKILL only after the stop timeout")
	assert.Less(t, elapsed, 10*time.Second)
	assert.Equal(t, []string{"READY", "STOPPING", "GOT_TERM"}, a.lines())
}

// On SIGTERM, OnStopping runs first, then the agent waits Drain before it
// forwards SIGTERM. A second SIGTERM ends the drain early.
func testDrain(t *testing.T, opts agentOpts) {
	const script = `trap 'ev GOT_TERM; exit 0' TERM
ev READY; idle`
	t.Run("waits", func(t *testing.T) {
		t.Parallel()
		const drain = 600 * time.Millisecond
		a := startAgent(t, opts, helperConfig{Drain: drain, Command: sh(script)})
		a.waitEvent(t, "READY")
		sent := time.Now()
		a.signal(t, syscall.SIGTERM)
		a.waitEvent(t, "STOPPING")
		time.Sleep(time.Until(sent.Add(drain / 2)))
		assert.False(t, a.has("GOT_TERM"), "SIGTERM forwarded before the drain was over")
		rep := a.wait(t)
		elapsed := time.Since(sent)
		assert.Equal(t, 0, rep.Code)
		assertPID1(t, opts, rep)
		assert.GreaterOrEqual(t, elapsed, drain)
		assert.Equal(t, []string{"READY", "STOPPING", "GOT_TERM"}, a.lines())
	})
	t.Run("second SIGTERM ends it", func(t *testing.T) {
		t.Parallel()
		a := startAgent(t, opts, helperConfig{Drain: time.Minute, Command: sh(script)})
		a.waitEvent(t, "READY")
		a.signal(t, syscall.SIGTERM)
		a.waitEvent(t, "STOPPING")
		a.signal(t, syscall.SIGTERM)
		rep := a.wait(t)
		assert.Equal(t, 0, rep.Code)
		assert.Equal(t, []string{"READY", "STOPPING", "GOT_TERM"}, a.lines(), "SIGTERM forwarded once")
	})
}

// With SignalGroup, signals reach every process in CMD's group (here a
// background subshell); without, CMD alone.
func testSignalGroup(t *testing.T, opts agentOpts) {
	const script = `
( trap 'ev GC_USR1' USR1; trap 'exit 0' TERM; ev GC_READY; idle ) &
trap 'ev GOT_USR1' USR1
trap 'kill $! 2>/dev/null; exit 0' TERM
ev READY; idle`
	for _, group := range []bool{true, false} {
		t.Run(fmt.Sprintf("group=%v", group), func(t *testing.T) {
			t.Parallel()
			a := startAgent(t, opts, helperConfig{SignalGroup: group, Command: sh(script)})
			a.waitEvent(t, "READY")
			a.waitEvent(t, "GC_READY")
			a.signal(t, syscall.SIGUSR1)
			a.waitEvent(t, "GOT_USR1")
			if group {
				a.waitEvent(t, "GC_USR1")
			} else {
				time.Sleep(300 * time.Millisecond)
				assert.False(t, a.has("GC_USR1"), "without SignalGroup the signal reached CMD's child")
			}
			a.signal(t, syscall.SIGTERM)
			rep := a.wait(t)
			assert.Equal(t, 0, rep.Code)
			assertPID1(t, opts, rep)
		})
	}
}

// Orphaned grandchildren of CMD are re-parented to the agent (PID 1, or a
// subreaper otherwise), which reaps them while CMD still runs: CMD sees no
// zombie child of the agent, and none is left when the agent is done.
func testReapsOrphans(t *testing.T, opts agentOpts) {
	a := startAgent(t, opts, helperConfig{Command: sh(`
(sleep 0.1 &); (sleep 0.2 &); (sleep 0.1 & sleep 0.1 &)
sleep 0.6
z=
for f in /proc/[0-9]*/stat; do
	{ read -r st < "$f"; } 2>/dev/null || continue
	set -- ${st##*") "}
	[ "$1" = Z ] && [ "$2" = "$PPID" ] && z="$z ${st%% *}"
done
ev "ZOMBIES$z"
exit 3`)})
	rep := a.wait(t)
	assert.Equal(t, 3, rep.Code)
	assertPID1(t, opts, rep)
	assert.Equal(t, []string{"ZOMBIES"}, a.lines(), "no zombie child of the agent while CMD runs")
	assert.Empty(t, rep.Zombies, "no zombie left once the agent is done")
	assert.GreaterOrEqual(t, rep.OrphansReaped, uint64(4), "the orphans were re-parented to the agent and reaped by it")
}

func assertPID1(t *testing.T, opts agentOpts, rep helperReport) {
	t.Helper()
	assert.NotZero(t, rep.CMDPID, "CMD ran")
	if opts.pid1 {
		assert.Equal(t, 1, rep.PID, "the supervisor ran as PID 1")
	} else {
		assert.NotEqual(t, 1, rep.PID)
	}
}
