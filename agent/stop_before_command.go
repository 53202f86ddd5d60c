package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/portolan/portolan/agent/supervise"
)

// A stop asked before CMD runs: while --wait-home holds its start, or
// while the agent starts.

// holdSignals starts holding the signals the supervisor forwards to CMD,
// for New and Run: until Run hands them to the supervisor, a stop among
// them ends the agent before CMD starts (untilStopped, waitHome,
// stopAsked); the others concern a CMD that does not exist yet.
func holdSignals() chan os.Signal {
	held := make(chan os.Signal, 32)
	signal.Notify(held, supervise.ForwardedSignals()...)
	return held
}

// untilStopped returns ctx ended by a stop signal held meanwhile, for a
// step of the agent's start that may wait (a --mgmt-spec fetch, up to
// --mgmt-timeout). release ends the watch and returns the stop, if one
// came (a *stoppedError saying when); other signals held meanwhile are
// dropped, as stopAsked drops them.
func (a *Agent) untilStopped(ctx context.Context, when string) (_ context.Context, release func() error) {
	sctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			select {
			case sig := <-a.held:
				if isStop(sig) {
					cancel(&stoppedError{sig: sig.(syscall.Signal), msg: fmt.Sprintf("%v %s", sig, when)})
					return
				}
			case <-done:
				return
			}
		}
	}()
	return sctx, func() error {
		close(done)
		<-watched
		var stopped *stoppedError
		if errors.As(context.Cause(sctx), &stopped) {
			return stopped
		}
		cancel(nil)
		return nil
	}
}

// StopCode is the exit code of an agent New or Run ended with err because
// a stop signal came before CMD started (128+N, as a shell reports a death
// by signal N: docker stop reports 143); ok is false for any other error.
func StopCode(err error) (code int, ok bool) {
	var stopped *stoppedError
	if errors.As(err, &stopped) {
		return 128 + int(stopped.sig), true
	}
	return 0, false
}

// waitHome holds CMD's start until the first registration, at most WaitHome;
// a stop signal meanwhile (isStop; on held, the run's forwarded signals)
// stops the agent before CMD starts. It adds no handler of its own: one for a
// signal the agent was started ignoring would end that for CMD.
func (a *Agent) waitHome(ctx context.Context, held <-chan os.Signal) error {
	timeout := time.NewTimer(a.cfg.WaitHome)
	defer timeout.Stop()
	for {
		select {
		case <-a.first:
			return nil
		case <-timeout.C:
			a.log.Warn().Dur("wait_home", a.cfg.WaitHome).Msg("home not reached in time; starting the command anyway")
			return nil
		case sig := <-held:
			if isStop(sig) {
				return &stoppedError{sig: sig.(syscall.Signal), msg: fmt.Sprintf("stopped while waiting for home: %v", sig)}
			}
		case <-ctx.Done():
			return fmt.Errorf("stopped while waiting for home: %w", context.Cause(ctx))
		}
	}
}

// stopAsked reports a stop signal (isStop) that came while the agent started,
// before the supervisor took the signals over: CMD is then not started
// (it would run until the runtime's SIGKILL). Other signals held meanwhile
// concern a CMD that does not exist yet, and are dropped.
func stopAsked(held <-chan os.Signal) error {
	for {
		select {
		case sig := <-held:
			if isStop(sig) {
				return &stoppedError{sig: sig.(syscall.Signal), msg: fmt.Sprintf("stopped by %v before the command started", sig)}
			}
		default:
			return nil
		}
	}
}

// isStop reports whether sig asks a CMD not started yet to stop: SIGTERM
// and SIGINT, and the stop signals images name (STOPSIGNAL): SIGQUIT
// (nginx's graceful stop) and, on Linux, SIGRTMIN+3 (systemd's). Once CMD
// runs they are forwarded to it; before, dropping them would lose the
// runtime's stop until its SIGKILL.
func isStop(sig os.Signal) bool {
	switch sig {
	case syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT:
		return true
	}
	return sigRTMinPlus3 != 0 && sig == sigRTMinPlus3
}

// stoppedError is a stop signal that ended the agent before CMD started.
type stoppedError struct {
	sig syscall.Signal
	msg string // why, and when
}

func (e *stoppedError) Error() string { return e.msg }

// exitCodeOf is Run's exit code for err, which ended it before CMD ran:
// 128+N for a stop by signal N, as a shell reports a death by it, and as
// Run returns when CMD runs and dies of it (docker stop reports 143); 1
// for any other failure.
func exitCodeOf(err error) int {
	if code, ok := StopCode(err); ok {
		return code
	}
	return 1
}
