package coordinator_test

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// Without --access-token the coordinator makes one on first start, keeps it
// in the data dir (0600), prints it once, and uses it; SIGTERM stops it cleanly.
func TestGeneratedAccessTokenAndGracefulStop(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: starts processes")
	}
	dir := t.TempDir()
	addr := testenv.FreeAddr(t)
	start := func() (*exec.Cmd, *testenv.SyncBuffer) {
		out := &testenv.SyncBuffer{}
		cmd := exec.Command(testenv.Binary(t), "coordinator", "--listen", addr, "--data-dir", dir)
		cmd.Stdout, cmd.Stderr = out, out
		require.NoError(t, cmd.Start())
		require.Eventually(t, func() bool {
			resp, err := http.Get("http://" + addr + "/metrics")
			if err == nil {
				resp.Body.Close()
			}
			return err == nil
		}, 10*time.Second, 20*time.Millisecond)
		return cmd, out
	}
	stop := func(cmd *exec.Cmd) {
		require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
		require.NoError(t, cmd.Wait(), "exit 0 on SIGTERM")
	}

	cmd, out := start()
	stop(cmd)
	m := regexp.MustCompile(`(?m)^\s+([0-9a-f]{48})$`).FindStringSubmatch(out.String())
	require.NotNil(t, m, "the generated token is printed:\n%s", out.String())
	token := m[1]
	info, err := os.Stat(filepath.Join(dir, "access_token"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	assert.Contains(t, out.String(), "coordinator stopped")
	assert.Equal(t, 1, strings.Count(out.String(), token), "printed once, never logged")

	cmd, out = start()
	defer stop(cmd)
	assert.NotContains(t, out.String(), token, "not printed again")
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/admin/api/services.json", nil)
	req.SetBasicAuth("", token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	wrong := token[:47] + map[bool]string{true: "1", false: "0"}[token[47] == '0']
	resp, err = http.Get("http://" + addr + "/admin/api/services.json?access_token=" + wrong)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
}
