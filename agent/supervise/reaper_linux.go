package supervise

import (
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"
)

// reaper owns every wait for a child in the process: see the package
// documentation. wait4(-1) is process-wide, so there is one reaper per
// process, whatever the number of Supervisors.
var reaper struct {
	mu       sync.Mutex
	children map[int]child // started by spawn and not yet collected
	running  bool          // the reap goroutine runs
	log      zerolog.Logger
	orphans  uint64
	ttou     ttouAtStart // see startProcess
}

type child struct {
	proc   *os.Process
	exited func(p *os.Process, code int)
}

func supported() error { return nil }

// OrphansReaped returns how many processes the reaper has collected that
// this package did not start: CMD's orphaned descendants.
func OrphansReaped() uint64 {
	reaper.mu.Lock()
	defer reaper.mu.Unlock()
	return reaper.orphans
}

// spawn starts a child and registers it with the reaper, which calls exited,
// with the reaper's lock held, once it has collected the child. The lock is
// held from before the start to the registration, so that even a child that
// exits at once cannot be collected as an unknown orphan. A non-nil log
// becomes the reaper's logger.
func spawn(path string, argv []string, attr *os.ProcAttr, log *zerolog.Logger, exited func(p *os.Process, code int)) (*os.Process, error) {
	reaper.mu.Lock()
	defer reaper.mu.Unlock()
	if log != nil {
		reaper.log = *log
	}
	if !reaper.running {
		// As PID 1 the kernel already gives us every orphan; otherwise
		// ask for the orphans of our descendants, before there are any.
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			reaper.log.Warn().Err(err).Msg("cannot become a child subreaper: CMD's orphans will not be reaped here")
		}
	}
	p, err := startProcess(path, argv, attr)
	if err != nil {
		return nil, err
	}
	if reaper.children == nil {
		reaper.children = make(map[int]child)
	}
	reaper.children[p.Pid] = child{proc: p, exited: exited}
	if !reaper.running {
		reaper.running = true
		sigchld := make(chan os.Signal, 1)
		signal.Notify(sigchld, syscall.SIGCHLD)
		go reap(sigchld)
	}
	return p, nil
}

// reap collects children on every SIGCHLD, and once a second in case one
// was missed (as tini does), until no child started by spawn is left.
func reap(sigchld chan os.Signal) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for reapAll(sigchld) {
		select {
		case <-sigchld:
		case <-tick.C:
		}
	}
}

// reapAll collects every child that has exited. Once no child started by
// spawn is left, it stops the reaper and returns false.
func reapAll(sigchld chan os.Signal) bool {
	reaper.mu.Lock()
	defer reaper.mu.Unlock()
	for {
		var ws syscall.WaitStatus
		// Without __WALL: orphans are re-parented with SIGCHLD as their
		// exit signal, and __WALL would race the Go runtime, which reaps
		// its own clone(CLONE_PIDFD) probe child with __WCLONE.
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil || pid <= 0 { // ECHILD: no children; 0: none has exited
			break
		}
		code := exitCode(ws)
		if c, ok := reaper.children[pid]; ok {
			delete(reaper.children, pid)
			reaper.log.Debug().Int("pid", pid).Int("code", code).Msg("collected")
			c.exited(c.proc, code)
		} else {
			reaper.orphans++
			reaper.log.Debug().Int("pid", pid).Int("code", code).Msg("reaped an orphan")
		}
	}
	if len(reaper.children) > 0 {
		return true
	}
	signal.Stop(sigchld)
	reaper.running = false
	return false
}

// exitCode is a shell's $? for ws: the exit status, or 128+N for signal N.
func exitCode(ws syscall.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}
