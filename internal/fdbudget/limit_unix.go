//go:build unix

package fdbudget

import "syscall"

// Limit is the soft RLIMIT_NOFILE, which Go's syscall package has already
// raised to the hard limit where it could; 0 when unknown.
func Limit() uint64 {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0
	}
	return uint64(lim.Cur)
}
