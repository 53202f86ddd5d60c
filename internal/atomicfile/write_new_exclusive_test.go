package atomicfile

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// WriteNew never replaces (link(2) fails with EEXIST, as open's O_EXCL),
// keeps its mode whatever the umask, and leaves no temporary file either way.
func TestWriteNewIsExclusiveAndPrivateUnderAnyUmask(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "key.pem")
	old := syscall.Umask(0)
	err := WriteNew(path, []byte("one"), 0o600)
	syscall.Umask(old)
	require.NoError(t, err)
	err = WriteNew(path, []byte("two"), 0o600)
	require.ErrorIs(t, err, fs.ErrExist)
	assert.ErrorContains(t, err, path, "the error names the path")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "one", string(b), "the first file is kept")
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	left, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, left, 1, "no temporary file is left behind")
}
