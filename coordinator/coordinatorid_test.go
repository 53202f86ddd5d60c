package coordinator

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCoordinatorIDIsKeptInTheDataDir(t *testing.T) {
	dir := t.TempDir()
	id, err := loadCoordinatorID(dir)
	require.NoError(t, err)
	assert.Len(t, id, 32)
	again, err := loadCoordinatorID(dir)
	require.NoError(t, err)
	assert.Equal(t, id, again)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file left behind")
	require.NoError(t, os.WriteFile(filepath.Join(dir, IDFile), []byte("a/b\n"), 0o600))
	_, err = loadCoordinatorID(dir)
	assert.Error(t, err)
}
