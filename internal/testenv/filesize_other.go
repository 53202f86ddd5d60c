//go:build !linux

package testenv

import "testing"

// LimitFileSize needs prlimit(2), which only Linux has: the test is skipped.
func (c *Coordinator) LimitFileSize(t testing.TB, bytes int64) {
	t.Helper()
	t.Skip("limiting a running process's file size needs Linux (prlimit)")
}
