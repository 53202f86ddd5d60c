package agent_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// A --cache-dir that existed open to others (a script's mkdir -p under
// umask 000, a volume, an image layer), and its usage spool likewise, are
// made 0700 before the agent keeps its credential, keys and unsent usage in
// them, as the coordinator does with its data dir: while they stay 0777 any
// local user may replace credential.json or the cached keyring, or plant a
// usage batch the agent then reports home as its own. Oracle: OpenSSH's
// StrictModes (auth.c, auth_secure_path) refuses a key under a directory
// group or others may write ("bad ownership or modes for directory"); the
// design: "files 0600 in a 0700 data dir". Run under umask 000, so that
// whatever the agent creates is checked against the widest umask too.
func TestCacheDirOpenToOthersIsMadePrivate(t *testing.T) {
	co := testenv.StartCoordinator(t)
	usageService(t, co, "privcache", "period=minute&value=5")
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))
	t.Cleanup(upstream.Close)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(upstream.URL, "http://"))

	cache := filepath.Join(t.TempDir(), "cache")
	for _, dir := range []string{cache, filepath.Join(cache, "usage")} {
		require.NoError(t, os.Mkdir(dir, 0o777))
		require.NoError(t, os.Chmod(dir, 0o777)) // past the test's own umask
	}

	old := syscall.Umask(0)
	gw := testenv.FreeAddr(t)
	a := testenv.StartAgent(t, co, "--cache-dir", cache, "--service", "privcache", "--address", "127.0.0.1", "--port", port,
		"--gateway-listen", gw, "--upstream", upstream.URL, "--report-interval", "100ms", "--", "sleep", "60")
	syscall.Umask(old)
	a.CacheDir = cache // the last --cache-dir given is the one used

	// Once the credential is kept, every directory and file the agent
	// wrote is the agent's alone (credentialOf checks the cache dir 0700).
	credentialOf(t, a)
	require.Eventually(t, func() bool { _, err := os.Stat(filepath.Join(cache, "usage")); return err == nil },
		10*time.Second, 20*time.Millisecond)
	err := filepath.Walk(cache, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return nil // a temporary file renamed away while walking
		}
		want := os.FileMode(0o600)
		if info.IsDir() {
			want = 0o700
		}
		assert.Equal(t, want, info.Mode().Perm(), "%s is open to others", path)
		return nil
	})
	require.NoError(t, err)
}
