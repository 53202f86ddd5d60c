//go:build linux

package supervise

import (
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// forwardedSignals is what tini forwards, less what the agent's own process
// raises or the Go runtime uses: the synchronous faults (SIGSEGV, SIGBUS,
// SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS), SIGTTIN and SIGTTOU (as tini),
// SIGCHLD (the reaper's), SIGURG (the runtime's preemption), SIGPROF, and
// SIGPIPE, SIGXFSZ and SIGXCPU, which the kernel sends the agent for its own
// writes and CPU time, not for CMD. The real-time signals are forwarded from
// SIGRTMIN (34; 32 and 33 are the C library's): an image may stop with
// SIGRTMIN+3, as systemd does.
var forwardedSignals = func() []os.Signal {
	sigs := []os.Signal{
		syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT,
		syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH,
		syscall.SIGALRM, syscall.SIGVTALRM, syscall.SIGCONT, syscall.SIGTSTP,
		syscall.SIGIO, syscall.SIGPWR,
	}
	// SIGSTKFLT is not on every architecture (MIPS has none, and a release
	// is built for linux/mipsle): looked up by name.
	if s := unix.SignalNum("SIGSTKFLT"); s != 0 {
		sigs = append(sigs, s)
	}
	for n := sigRTMin; n <= sigRTMax; n++ {
		sigs = append(sigs, syscall.Signal(n))
	}
	return sigs
}()

const sigRTMin, sigRTMax = 34, 64

// ForwardedSignals returns the signals Run forwards to CMD: those of the
// package documentation that the agent was not started ignoring. A signal
// ignored from the start (SIGHUP under nohup, SIGINT in a script's
// background job) is neither handled nor forwarded, so that CMD inherits it
// ignored, as it does under tini: handling it would give CMD the default
// action, and forwarding it would then kill CMD. Only SIGHUP and SIGINT can
// be seen so: Go's runtime installs its own handler for every other signal
// before main, ignored or not, and signal.Ignored then reports false. Call
// it before any signal.Notify of these signals, which would end "ignored".
func ForwardedSignals() []os.Signal {
	sigs := make([]os.Signal, 0, len(forwardedSignals))
	for _, sig := range forwardedSignals {
		if !signal.Ignored(sig) {
			sigs = append(sigs, sig)
		}
	}
	return sigs
}

// signalGroup sends sig to the process group pgid.
func signalGroup(pgid int, sig os.Signal) error {
	n, ok := sig.(syscall.Signal)
	if !ok {
		return fmt.Errorf("agent: cannot send %v", sig)
	}
	if pgid <= 1 { // kill(0) is our own group, kill(-1) every process we may signal
		return fmt.Errorf("agent: refusing to signal process group %d", pgid)
	}
	return syscall.Kill(-pgid, n)
}

// killGroup sends SIGKILL to the process group pgid.
func killGroup(pgid int) error {
	return signalGroup(pgid, syscall.SIGKILL)
}

// sysProcAttr puts CMD in a process group of its own. When stdin is a
// terminal whose foreground process group is the agent's, it also makes
// CMD's group the foreground one (as tini does): otherwise CMD, in a
// background group, would be stopped by SIGTTIN as soon as it read the
// terminal, and Ctrl-C would not reach it. Go's fork keeps signals blocked
// while it does so, so the tcsetpgrp cannot raise SIGTTOU.
//
// CMD also gets SIGKILL if the agent dies (Pdeathsig): in its own process
// group it would otherwise outlive a crashed or kill -9'd agent, unsupervised.
// (Linux sends it when the forking thread exits; Go ends a thread only when
// a goroutine exits locked to it, runtime.LockOSThread, which nothing in the
// agent does.)
func sysProcAttr(stdin *os.File) *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	fd := int(stdin.Fd())
	if fg, err := unix.IoctlGetUint32(fd, unix.TIOCGPGRP); err == nil && int(fg) == unix.Getpgrp() {
		attr.Foreground = true
		attr.Ctty = fd // a descriptor of the parent, for Foreground
	}
	return attr
}

// startProcess is os.StartProcess with no signal blocked in the child. A
// child inherits the signal mask of the thread that forks it, and the Go
// runtime leaves blocked, on most of its threads, the signals the agent was
// started with blocked (by a parent that forked with signals blocked), but
// those it needs itself and those os/signal handles on one thread of its
// own: CMD would get some of them blocked, or none, depending on the
// thread. A container's entrypoint expects a clean mask, so the fork runs
// on a thread whose mask is cleared for it. (tini passes its parent's mask
// on; runtimes start it with an empty one.) Unblocking is safe: every
// signal that could end the agent is one the runtime never blocks.
//
// Once a child takes the terminal (Foreground), the agent ignores SIGTTOU,
// as tini does: it is then a background job of CMD's group, and on a
// terminal with TOSTOP its next log line would stop it, leaving CMD
// unsupervised. From then on each child is forked with SIGTTOU handled,
// so that exec gives it the default action, not the ignore; a write of the
// agent's meanwhile is retried until the ignore is back. An agent started
// with SIGTTOU ignored leaves it so, for itself and its children, as tini
// restores the action it was started with. Without a terminal nothing
// changes: a process that gave no terminal away is sent no SIGTTOU, and
// the ignore would reach whatever its own process starts otherwise (a
// test binary's other commands).
//
// Call it with reaper.mu held.
func startProcess(path string, argv []string, attr *os.ProcAttr) (*os.Process, error) {
	takesTerminal := attr.Sys != nil && attr.Sys.Foreground
	if (takesTerminal || reaper.ttou.ignoring) && !reaper.ttou.ignoredAtStart() {
		ttou := make(chan os.Signal, 1) // never read
		signal.Notify(ttou, unix.SIGTTOU)
		defer func() {
			signal.Ignore(unix.SIGTTOU) // also ends ttou's notifications
			reaper.ttou.ignoring = true
		}()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var none, old unix.Sigset_t
	if err := unix.PthreadSigmask(unix.SIG_SETMASK, &none, &old); err != nil {
		return nil, fmt.Errorf("clear the signal mask: %w", err)
	}
	defer func() { _ = unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil) }()
	return os.StartProcess(path, argv, attr)
}

// ttouAtStart is the agent's SIGTTOU action when it started, read once,
// before startProcess first changes it.
type ttouAtStart struct {
	read, ignored bool
	ignoring      bool // startProcess made the agent ignore SIGTTOU
}

// ignoredAtStart reports whether the agent was started with SIGTTOU
// ignored. Go's runtime leaves SIGTTOU as inherited until os/signal handles
// it, but signal.Ignored does not see an inherited ignore of it, so the
// kernel's view is read in /proc; unreadable, SIGTTOU counts as at its
// default action.
func (s *ttouAtStart) ignoredAtStart() bool {
	if !s.read {
		s.read = true
		s.ignored = ignoredNow(unix.SIGTTOU)
	}
	return s.ignored
}

// ignoredNow reports whether the process ignores sig, as /proc/self/status
// says; false when it cannot be read.
func ignoredNow(sig syscall.Signal) bool {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if hex, ok := strings.CutPrefix(line, "SigIgn:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
			return err == nil && mask&(1<<(sig-1)) != 0
		}
	}
	return false
}
