//go:build linux

package agent

import "syscall"

// sigRTMinPlus3 is SIGRTMIN+3 as the C library numbers it (SIGRTMIN is 34:
// 32 and 33 are its own), the signal systemd stops on.
const sigRTMinPlus3 = syscall.Signal(34 + 3)
