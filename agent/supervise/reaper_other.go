//go:build !linux

package supervise

import (
	"errors"
	"os"
	"syscall"

	"github.com/rs/zerolog"
)

// Supervision (process groups, subreaping, forwarding) is only built for
// Linux, where the agent runs as a container's entrypoint; elsewhere the
// package builds, and supervising returns errUnsupported.
var errUnsupported = errors.New("agent: supervising a process needs Linux")

func supported() error { return errUnsupported }

// ForwardedSignals returns the signals Run forwards to CMD: none here.
func ForwardedSignals() []os.Signal { return nil }

// OrphansReaped returns how many orphaned processes the reaper has
// collected: none here.
func OrphansReaped() uint64 { return 0 }

func spawn(string, []string, *os.ProcAttr, *zerolog.Logger, func(*os.Process, int)) (*os.Process, error) {
	return nil, errUnsupported
}

func sysProcAttr(*os.File) *syscall.SysProcAttr { return nil }

func signalGroup(int, os.Signal) error { return errUnsupported }

func killGroup(int) error { return errUnsupported }
