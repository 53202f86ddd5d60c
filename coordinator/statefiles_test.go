package coordinator

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The state files home reads from its data dir at start (the generated
// access token, the coordinator id, the gossip keyring) are regular files:
// a FIFO at their path is refused, naming it, not waited on (README:
// state files read at start).
func TestDataDirStateFilesAreNotWaitedOn(t *testing.T) {
	for name, read := range map[string]func(dir string) error{
		TokenFile: func(dir string) error { _, err := resolveAccessToken("", "", dir); return err },
		IDFile:    func(dir string) error { _, err := loadCoordinatorID(dir); return err },
		GossipKeyringFile: func(dir string) error {
			_, err := openGossipKeyring(Config{DataDir: dir, Logger: zerolog.Nop()}, time.Second)
			return err
		},
	} {
		dir := t.TempDir()
		path := filepath.Join(dir, name)
		require.NoError(t, syscall.Mkfifo(path, 0o600))
		done := make(chan error, 1)
		go func() { done <- read(dir) }()
		select {
		case err := <-done:
			assert.ErrorContains(t, err, path, name)
		case <-time.After(2 * time.Second):
			t.Errorf("%s: a FIFO in the data dir holds the start", name)
			if f, err := os.OpenFile(path, os.O_WRONLY, 0); err == nil { // lets the reader go
				f.Close()
			}
			<-done
		}
	}
}
