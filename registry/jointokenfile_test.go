package registry

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A FIFO at the join token file is refused at start, naming it, not waited
// on, as at home's other state files (README: state files read at start).
func TestJoinTokenFileThatIsAFIFOIsRefusedNotWaitedOn(t *testing.T) {
	path := filepath.Join(t.TempDir(), JoinTokenFile)
	require.NoError(t, syscall.Mkfifo(path, 0o600))
	done := make(chan error, 1)
	go func() { _, err := OpenJoinTokenStore(path); done <- err }()
	select {
	case err := <-done:
		assert.ErrorContains(t, err, path)
	case <-time.After(2 * time.Second):
		if f, err := os.OpenFile(path, os.O_WRONLY, 0); err == nil { // lets the reader go
			f.Close()
		}
		<-done
		t.Fatal("a FIFO at the join token file holds the start")
	}
}
