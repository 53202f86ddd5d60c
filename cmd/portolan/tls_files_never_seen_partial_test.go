package main

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// A CA key written by `portolan tls ca create` appears whole or not at all:
// a process killed while writing it leaves no empty or partial key, which
// the next run would refuse to overwrite ("exists") and the coordinator
// could not load. Oracle: etcd's fileutil and Consul write beside the file,
// fsync, then move it into place. A watcher polls the path while the key
// is written, many times over.
func TestTLSFilesNeverSeenPartial(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "ca-key.pem")
	data := []byte("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIGm1xYAaQ9tqCUqAj9Ua1wDGAG0W9UYmdGAzqK7f1Jd2\n-----END PRIVATE KEY-----\n")
	var partial atomic.Int64
	for range 300 {
		stop, done := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case <-stop:
					return
				default:
				}
				b, err := os.ReadFile(key)
				if (err == nil && string(b) != string(data)) || (err != nil && !errors.Is(err, fs.ErrNotExist)) {
					partial.Add(1)
				}
			}
		}()
		require.NoError(t, writeNewFiles(io.Discard, dir, []newFile{{key, "CA key", data}}))
		close(stop)
		<-done
		info, err := os.Stat(key)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
		require.NoError(t, os.Remove(key))
	}
	require.Zero(t, partial.Load(), "the key file was seen empty or partial")
	left, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, left, "no temporary file is left behind")
}
