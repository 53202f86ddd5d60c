package coordinator

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A generated access token that could not be written (a full disk) leaves
// no empty token file behind: the next start makes a new token, rather
// than refusing to start on "access token file is empty".
func TestAccessTokenNotWrittenLeavesNoFile(t *testing.T) {
	dir := t.TempDir()
	var was syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_FSIZE, &was))
	full := was
	full.Cur = 0 // every write to a file fails, as on a full disk
	require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_FSIZE, &full))
	_, err := resolveAccessToken("", "", dir)
	require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_FSIZE, &was))
	require.Error(t, err, "the token could not be written")

	_, statErr := os.Stat(filepath.Join(dir, TokenFile))
	assert.ErrorIs(t, statErr, os.ErrNotExist, "no empty token file is left")
	boot, err := resolveAccessToken("", "", dir)
	require.NoError(t, err, "the next start makes a token")
	assert.True(t, boot.generated)
}
