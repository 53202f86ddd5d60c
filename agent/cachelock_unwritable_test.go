//go:build linux

package agent

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/portolan/portolan/internal/testenv"
)

// asUser runs f on a thread whose file system user is uid (as root: the
// kernel then checks permissions as that user, without root's override), as
// an agent run under --user would; the thread ends with f.
func asUser(t *testing.T, uid int, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		if os.Geteuid() == 0 {
			unix.Setfsuid(uid)
		}
		f()
	}()
	<-done
}

// An agent without a gateway runs without a writable cache directory (the
// README: only an agent with a gateway needs one), as before the directory
// was locked: a cache directory it cannot create or lock is said in the
// log, not a reason to keep the app down. Only another running agent's lock
// refuses the start.
func TestCacheDirThatCannotBeWrittenDoesNotStopAnAgentWithoutGateway(t *testing.T) {
	base := t.TempDir()
	for _, d := range []string{filepath.Dir(base), base} { // any user may pass through
		require.NoError(t, os.Chmod(d, 0o755))
	}
	parent := filepath.Join(base, "var-cache")
	require.NoError(t, os.Mkdir(parent, 0o555)) // root's, as in an image without /var/cache/portolan
	dir := filepath.Join(parent, "portolan")
	var logged testenv.SyncBuffer
	var err error
	writable := false
	asUser(t, 65532, func() {
		if writable = os.Mkdir(dir, 0o700) == nil; !writable {
			_, err = New(context.Background(), Config{Command: []string{"true"}, CacheDir: dir, Address: "127.0.0.1", Logger: zerolog.New(&logged)})
		}
	})
	require.False(t, writable, "a user other than the directory's owner created a directory in a 0555 one: the test checks nothing")
	require.NoError(t, err, "the agent starts")
	assert.Contains(t, logged.String(), dir, "and says its cache directory cannot be used")
}
