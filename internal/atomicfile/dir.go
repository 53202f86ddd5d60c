package atomicfile

import (
	"errors"
	"fmt"
	"os"
)

// PrivateDirMode is the mode of a directory that keeps keys and tokens.
const PrivateDirMode os.FileMode = 0o700

// ErrNotPrivate is wrapped by PrivateDir's error when the directory exists,
// or was made, but could not be made PrivateDirMode.
var ErrNotPrivate = errors.New("not private")

// PrivateDir creates dir and its parents with PrivateDirMode and makes an
// existing dir that group or others may enter PrivateDirMode: os.MkdirAll
// leaves an existing directory as it is, and whoever made it first (an
// image layer, a mounted volume, a script's mkdir -p) may have made it
// 0755. An error naming dir wraps ErrNotPrivate when the mode could not be
// changed (a directory another user owns, or a shared one with the sticky
// bit, which it never changes), so that a caller that can live
// with that, warned, tells it from a directory that cannot be made at all.
func PrivateDir(dir string) error {
	if err := os.MkdirAll(dir, PrivateDirMode); err != nil {
		return fmt.Errorf("create directory %s: %w", dir, err)
	}
	info, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("stat directory %s: %w", dir, err)
	}
	if !info.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	perm := info.Mode().Perm()
	if perm&0o077 == 0 {
		return nil
	}
	if info.Mode()&os.ModeSticky != 0 { // a shared directory (/tmp): never taken from the others
		return fmt.Errorf("directory %s is a shared (sticky) directory, mode %#o: choose a directory of your own: %w", dir, perm, ErrNotPrivate)
	}
	// A setgid bit (a volume's fsGroup hands its group to new files) is kept.
	if err := os.Chmod(dir, PrivateDirMode|info.Mode()&os.ModeSetgid); err != nil {
		return fmt.Errorf("directory %s is mode %#o, open to group or others, and could not be made %#o (chmod it, or choose a directory of your own): %w: %w",
			dir, perm, PrivateDirMode, ErrNotPrivate, err)
	}
	return nil
}
