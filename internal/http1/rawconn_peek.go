//go:build linux && !race && !386

package http1

import (
	"syscall"
	"unsafe"
)

// rawPeek is recv(2) of what p holds at most, leaving it in the socket and
// never waiting (MSG_PEEK|MSG_DONTWAIT), without the scheduler's
// bookkeeping (see rawConn).
func rawPeek(fd uintptr, p []byte) (int, syscall.Errno) {
	n, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)),
		syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
	return int(n), e
}
