// Package atomicfile replaces files so that a reader, or a crash, sees the
// old file or the new one, never half of one, and reads them back bounded.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// Write replaces path with data and perm: a temporary file beside it is
// written, synced and renamed over it, and the directory is synced so the
// rename survives a power cut. The directory must exist.
func Write(path string, data []byte, perm os.FileMode) error {
	if err := write(filepath.Dir(path), path, data, perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func write(dir, path string, data []byte, perm os.FileMode) error {
	tmp, err := writeTemp(dir, path, data, perm)
	if err != nil {
		return err
	}
	defer os.Remove(tmp) // after a successful rename this finds nothing
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return SyncDir(dir)
}

// writeTemp writes data, synced, to a new temporary file in dir named
// after path, with perm, and returns its name. On error nothing is left.
func writeTemp(dir, path string, data []byte, perm os.FileMode) (string, error) {
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+"-*")
	if err != nil {
		return "", err
	}
	err = fillTemp(tmp, data, perm)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	return tmp.Name(), nil
}

func fillTemp(tmp *os.File, data []byte, perm os.FileMode) error {
	// Set the mode before any byte is written: the file may hold a key.
	if err := tmp.Chmod(perm); err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	return tmp.Sync()
}

// SyncDir makes the directory's entries (a file created, renamed or removed
// in it) survive a power cut.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
