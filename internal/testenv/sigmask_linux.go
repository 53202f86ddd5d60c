//go:build linux

package testenv

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

	"golang.org/x/sys/unix"
)

// Signal state for the tests of what a supervised command inherits (the
// agent's and its supervisor's): a process started with signals blocked,
// and the masks read back from /proc/<pid>/status.

// GlibcSignals are signals 32 and 33, glibc's own (thread cancellation,
// setxid): Go's runtime installs no handler for them, so one a process was
// started ignoring (some CI harnesses start every process so) stays ignored
// for what it starts, as under tini, and glibc sets its own at the start of
// a program. They say nothing of what the agent does.
const GlibcSignals = 1<<31 | 1<<32

// SigBit is sig's bit in a /proc signal mask.
func SigBit(sig syscall.Signal) uint64 { return 1 << (sig - 1) }

// ParseSigMask reads a signal mask of /proc/<pid>/status (SigBlk, SigIgn).
func ParseSigMask(t testing.TB, s string) uint64 {
	t.Helper()
	m, err := strconv.ParseUint(strings.TrimSpace(s), 16, 64)
	if err != nil {
		t.Fatalf("a signal mask from /proc: %q: %v", s, err)
	}
	return m
}

// BlockedExecArgv returns argv run with sigs blocked: through this test
// binary's helper test (helper, which calls ExecBlockedWhenAsked(env)), which
// blocks them and execs argv in its place.
func BlockedExecArgv(env, helper string, argv []string, sigs ...syscall.Signal) []string {
	nums := make([]string, len(sigs))
	for i, s := range sigs {
		nums[i] = strconv.Itoa(int(s))
	}
	return append([]string{"env", env + "=" + strings.Join(nums, ","),
		os.Args[0], "-test.run=^" + helper + "$", "--"}, argv...)
}

// ExecBlockedWhenAsked is the body of a test binary's helper test: when env
// lists signals (N,M), it blocks them on the thread that calls execve and
// execs the test's arguments after -- in its place, which inherits that
// mask; it never returns then. Otherwise (a test run as any other) it
// returns at once: the helper is no test of its own.
func ExecBlockedWhenAsked(env string) {
	list := os.Getenv(env)
	if list == "" {
		return
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
