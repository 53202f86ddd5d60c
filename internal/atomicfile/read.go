package atomicfile

import (
	"fmt"
	"io"
	"os"
)

// ReadBounded reads a whole file of at most limit bytes, and fails on a
// larger one without reading past limit+1: the files written here are read
// back at start, and a corrupt or planted one must not exhaust memory.
func ReadBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is over the %d-byte limit", path, limit)
	}
	return b, nil
}
