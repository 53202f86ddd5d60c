package certreload

import (
	"os"
	"syscall"
)

// changeTime is fi's status change time (ctime) in Unix nanoseconds: what a
// chmod, a chown or a rewrite that puts the modification time back
// changes, and a process cannot set. 0 when fi does not say.
func changeTime(fi os.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ctim.Nano()
	}
	return 0
}
