package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// WriteNew creates path holding data with perm, failing (with an error
// wrapping fs.ErrExist) when path exists, so that of two writers racing
// only one wins. As Write, the file appears whole or not at all: it is
// written and synced beside path, then hard-linked into place (link, unlike
// rename, never replaces), and the directory is synced. A crash leaves no
// path, or the whole file; never an empty one that blocks the next start.
// The directory must exist.
func WriteNew(path string, data []byte, perm os.FileMode) error {
	if err := writeNew(filepath.Dir(path), path, data, perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func writeNew(dir, path string, data []byte, perm os.FileMode) error {
	tmp, err := writeTemp(dir, path, data, perm)
	if err != nil {
		return err
	}
	defer os.Remove(tmp) // linked or not, the temporary name goes
	if err := os.Link(tmp, path); err != nil {
		return err
	}
	return SyncDir(dir)
}
