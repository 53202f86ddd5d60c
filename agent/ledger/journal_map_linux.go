package ledger

import (
	"os"

	"golang.org/x/sys/unix"
)

// mapJournal maps f for records up to size bytes and reserves the first
// blocks after used; it returns a nil mapping when the file system cannot
// reserve blocks (a sparse mapping would fault on a full disk) or the
// mapping fails, and the journal is then written with write(2).
func mapJournal(f *os.File, used, size int64) ([]byte, int64) {
	alloc, err := growJournal(f, used, min(nextReserve(used), size))
	if err != nil {
		return nil, 0
	}
	m, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		_ = f.Truncate(used)
		return nil, 0
	}
	return m, alloc
}

// growJournal reserves f's blocks up to to bytes (the file's size with
// them), so that writing the mapping there never needs a block the disk
// may not have.
func growJournal(f *os.File, from, to int64) (int64, error) {
	if to <= from {
		return from, nil
	}
	if err := unix.Fallocate(int(f.Fd()), 0, from, to-from); err != nil {
		return from, err
	}
	return to, nil
}

func unmapJournal(m []byte) { _ = unix.Munmap(m) }
