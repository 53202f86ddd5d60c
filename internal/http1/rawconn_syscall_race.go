//go:build linux && race

package http1

import "syscall"

// Under the race detector, rawRead and rawWrite are the syscall package's
// Read and Write: those tell the detector that what one goroutine writes
// to a socket happens before what another reads from it, which raw system
// calls cannot (rawConn's waits and errors are tested the same).
func rawRead(fd uintptr, p []byte) (int, syscall.Errno) {
	n, err := syscall.Read(int(fd), p)
	return max(n, 0), errnoOf(err)
}

func rawWrite(fd uintptr, p []byte) (int, syscall.Errno) {
	n, err := syscall.Write(int(fd), p)
	return max(n, 0), errnoOf(err)
}

func errnoOf(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	if e, ok := err.(syscall.Errno); ok {
		return e
	}
	return syscall.EIO

}
