package atomicfile

import (
	"fmt"
	"io"
	"os"
	"syscall"
)

// ReadBounded reads a whole regular file of at most limit bytes, and fails
// on a larger one without reading past limit+1: the files written here are
// read back at start, and a corrupt or planted one must not exhaust memory.
// The file is opened non-blocking and refused unless regular, so that a
// FIFO (or a device) planted at the path cannot hang the caller in open or
// read.
func ReadBounded(path string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (mode %s): move it away", path, info.Mode())
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is over the %d-byte limit", path, limit)
	}
	return b, nil
}
