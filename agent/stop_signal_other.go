//go:build !linux

package agent

import "syscall"

// sigRTMinPlus3 is none outside Linux: no real-time signals to stop on.
const sigRTMinPlus3 = syscall.Signal(0)
