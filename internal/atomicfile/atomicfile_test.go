package atomicfile

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "file.json")
	require.NoError(t, Write(path, []byte("one"), 0o600))
	require.NoError(t, Write(path, []byte("two"), 0o644))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "two", string(b))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm())
	left, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	assert.Len(t, left, 1, "no temporary file is left behind")

	err = Write(filepath.Join(dir, "missing", "file.json"), []byte("x"), 0o600)
	assert.ErrorContains(t, err, filepath.Join(dir, "missing", "file.json"), "the error names the path")
	assert.NoDirExists(t, filepath.Join(dir, "missing"), "no directory is made")
}

func TestReadBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	require.NoError(t, Write(path, []byte("12345"), 0o600))
	b, err := ReadBounded(path, 5)
	require.NoError(t, err, "at the limit")
	assert.Equal(t, "12345", string(b))
	_, err = ReadBounded(path, 4)
	assert.ErrorContains(t, err, "over the 4-byte limit")
	_, err = ReadBounded(filepath.Join(t.TempDir(), "none"), 4)
	assert.ErrorIs(t, err, os.ErrNotExist)
}

// A directory made private is 0700 whether it is created or existed with a
// looser mode.
func TestPrivateDirIsMade0700EvenWhenItExists(t *testing.T) {
	made := filepath.Join(t.TempDir(), "a", "b")
	require.NoError(t, PrivateDir(made))
	existing := filepath.Join(t.TempDir(), "open")
	require.NoError(t, os.Mkdir(existing, 0o755))
	require.NoError(t, os.Chmod(existing, 0o755))
	require.NoError(t, PrivateDir(existing))
	for _, dir := range []string{made, existing} {
		fi, err := os.Stat(dir)
		require.NoError(t, err)
		assert.Equal(t, PrivateDirMode, fi.Mode().Perm(), dir)
	}
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	assert.ErrorContains(t, PrivateDir(file), file)
}

// A shared directory (sticky, as /tmp) is never taken from the others, and
// a setgid bit (a volume's group) is kept.
func TestPrivateDirLeavesSharedDirsAndKeepsSetgid(t *testing.T) {
	shared := filepath.Join(t.TempDir(), "shared")
	require.NoError(t, os.Mkdir(shared, 0o777))
	require.NoError(t, os.Chmod(shared, 0o777|os.ModeSticky))
	err := PrivateDir(shared)
	require.ErrorIs(t, err, ErrNotPrivate)
	fi, err := os.Stat(shared)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o777), fi.Mode().Perm(), "left as it was")

	group := filepath.Join(t.TempDir(), "group")
	require.NoError(t, os.Mkdir(group, 0o775))
	require.NoError(t, os.Chmod(group, 0o775|os.ModeSetgid))
	require.NoError(t, PrivateDir(group))
	fi, err = os.Stat(group)
	require.NoError(t, err)
	assert.Equal(t, PrivateDirMode, fi.Mode().Perm())
	assert.NotZero(t, fi.Mode()&os.ModeSetgid, "setgid kept")
}
