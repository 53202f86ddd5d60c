package usage

import (
	"os"

	"golang.org/x/sys/unix"
)

// fdatasync makes f's data durable, and its size, without its other
// metadata (times): one journal commit less than fsync where the size did
// not change.
func fdatasync(f *os.File) error {
	sc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := sc.Control(func(fd uintptr) {
		for {
			serr = unix.Fdatasync(int(fd))
			if serr != unix.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	return serr
}
