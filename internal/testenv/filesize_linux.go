package testenv

import (
	"testing"

	"golang.org/x/sys/unix"
)

// LimitFileSize makes the running process unable to grow any file past
// bytes (RLIMIT_FSIZE: a write past it fails with EFBIG, and Go ignores
// SIGXFSZ), as a full disk would, without a filesystem of its own or root.
// Start lifts it.
func (c *Coordinator) LimitFileSize(t testing.TB, bytes int64) {
	t.Helper()
	lim := &unix.Rlimit{Cur: uint64(bytes), Max: unix.RLIM_INFINITY}
	if err := unix.Prlimit(c.cmd.Process.Pid, unix.RLIMIT_FSIZE, lim, nil); err != nil {
		t.Fatalf("limit the coordinator's file size: %v", err)
	}
}
