//go:build linux && (race || 386)

package http1

import "syscall"

// rawPeek is recv(2) of what p holds at most, leaving it in the socket and
// never waiting (MSG_PEEK|MSG_DONTWAIT), through the syscall package: under
// the race detector, which it tells of the read (see rawRead), and on 386,
// whose sockets calls go through socketcall(2).
func rawPeek(fd uintptr, p []byte) (int, syscall.Errno) {
	n, _, err := syscall.Recvfrom(int(fd), p, syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	if err == nil {
		return max(n, 0), 0
	}
	if e, ok := err.(syscall.Errno); ok {
		return 0, e
	}
	return 0, syscall.EIO
}
