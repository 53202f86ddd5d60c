//go:build unix

package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// cacheLockFile, in --cache-dir, is locked by the agent that uses the
// directory for as long as its process lives.
const cacheLockFile = "agent.lock"

// lockCacheDir takes the cache directory for this agent alone. Two agents
// given one directory would take over each other's usage journals, instance
// credential and keys; the second is refused at start instead. The lock is
// the kernel's (flock), so a killed agent's ends with its process. Only a
// lock another agent holds is errCacheDirInUse; any other error is a
// directory that cannot be written, or locked.
func lockCacheDir(dir string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("--cache-dir %s: %w", dir, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, cacheLockFile), os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("--cache-dir %s: %w", dir, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("--cache-dir %s is %w: give each agent a cache directory of its own", dir, errCacheDirInUse)
		}
		return nil, fmt.Errorf("--cache-dir %s: lock: %w", dir, err)
	}
	return f, nil
}
