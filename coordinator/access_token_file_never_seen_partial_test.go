package coordinator

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// The generated access token file appears whole or not at all: a reader
// (or a kill -9, whose next start reads it) never meets it empty, which
// would refuse every later start with "access token file is empty". Oracle:
// etcd's fileutil and Consul write a file in a temp beside it, fsync, and
// rename/link it into place; a crash leaves the old state or the new one.
// A watcher polls the path while the token is written, many times over.
func TestAccessTokenFileNeverSeenPartial(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, TokenFile)
	const token = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	var partial atomic.Int64
	for range 300 {
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case <-stop:
					return
				default:
				}
				b, err := os.ReadFile(path)
				if err == nil && string(b) != token+"\n" {
					partial.Add(1)
				} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
					partial.Add(1)
				}
			}
		}()
		require.NoError(t, writeTokenFile(path, token))
		close(stop)
		<-done
		require.NoError(t, os.Remove(path))
	}
	require.Zero(t, partial.Load(), "the token file was seen empty or partial")
	left, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, left, "no temporary file is left behind")
}
