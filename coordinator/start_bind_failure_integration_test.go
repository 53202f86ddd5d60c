package coordinator_test

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/coordinator"
	"github.com/portolan/portolan/internal/testenv"
)

// A first start whose port is taken (a coordinator already running, a
// typo in --listen) fails at once naming the address, and leaves the data
// dir as it found it. Had it generated the admin token there first, the
// start that then succeeds would find the token and never say where it is:
// README, "The coordinator": without --access-token "it is generated on
// first start into DATA_DIR/access_token (mode 0600) and the output says
// where".
func TestPortInUseOnAFreshDataDirWritesNothing(t *testing.T) {
	bin := testenv.Binary(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := taken.Addr().String()
	dir := filepath.Join(t.TempDir(), "data")

	cmd := exec.Command(bin, "coordinator", "--listen", addr, "--data-dir", dir)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "%s", out)
	assert.Equal(t, 1, exit.ExitCode(), "%s", out)
	assert.Contains(t, string(out), "portolan: listen on "+addr)
	assert.Contains(t, string(out), "address already in use")
	_, statErr := os.Stat(dir)
	assert.ErrorIs(t, statErr, os.ErrNotExist, "the failed start wrote into the data dir:\n%s", out)

	require.NoError(t, taken.Close())
	next := &testenv.SyncBuffer{}
	cmd = exec.Command(bin, "coordinator", "--listen", addr, "--data-dir", dir)
	cmd.Stdout, cmd.Stderr = next, next
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGTERM); <-done })
	require.Eventually(t, func() bool {
		code, _ := probeAddr(addr, coordinator.PathHealthReady)
		return code == 200
	}, 15*time.Second, 20*time.Millisecond, "%s", next.String())
	assert.Contains(t, next.String(), "Generated an admin access token: it is in "+filepath.Join(dir, coordinator.TokenFile))
}

// probeAddr GETs path at addr, returning 0 when nothing answers.
func probeAddr(addr, path string) (int, error) {
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
