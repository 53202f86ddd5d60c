package coordinator_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// startCoordinator runs the binary with args until the test ends and
// returns its address and combined output.
func startCoordinator(t *testing.T, args ...string) (addr string, out *testenv.SyncBuffer, stop func()) {
	t.Helper()
	addr = testenv.FreeAddr(t)
	out = &testenv.SyncBuffer{}
	cmd := exec.Command(testenv.Binary(t), append([]string{"coordinator", "--listen", addr}, args...)...)
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
		require.NoError(t, cmd.Wait(), "exit 0 on SIGTERM:\n%s", out.String())
	}
	t.Cleanup(stop)
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	}, 10*time.Second, 20*time.Millisecond, "coordinator did not start:\n%s", out.String())
	return addr, out, stop
}

func status(t *testing.T, method, target, token string, form url.Values) (int, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	require.NoError(t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.SetBasicAuth("", token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// Without --access-token the coordinator makes one on first start and keeps
// it in the data dir (0600); the output says where, never the token; SIGTERM
// stops it cleanly, and the next start uses the same token.
func TestGeneratedAccessTokenIsInTheFileNeverInTheLog(t *testing.T) {
	testenv.SkipShort(t)
	dir := t.TempDir()
	_, out, stop := startCoordinator(t, "--data-dir", dir)
	stop()
	path := filepath.Join(dir, "access_token")
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	token := strings.TrimSpace(string(b))
	require.Len(t, token, 64, "256 bits, hex")
	assert.NotContains(t, out.String(), token, "the token is never printed or logged")
	assert.NotContains(t, out.String(), token[:16], "not even in part")
	assert.Contains(t, out.String(), path, "the output says where the token is")
	assert.Contains(t, out.String(), "coordinator stopped")

	addr, out, _ := startCoordinator(t, "--data-dir", dir)
	assert.NotContains(t, out.String(), token)
	code, _ := status(t, http.MethodGet, "http://"+addr+"/admin/api/services.json", token, nil)
	assert.Equal(t, http.StatusOK, code)
	wrong := token[:63] + map[bool]string{true: "1", false: "0"}[token[63] == '0']
	code, _ = status(t, http.MethodGet, "http://"+addr+"/admin/api/services.json", wrong, nil)
	assert.Equal(t, http.StatusForbidden, code)
}

// --access-token-file gives the bootstrap token without it showing in the
// command line; a token file and --access-token together are refused.
func TestAccessTokenFile(t *testing.T) {
	testenv.SkipShort(t)
	const token = "token-from-a-file-0123456789abcdef"
	file := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(file, []byte(token+"\n"), 0o600))
	dir := t.TempDir()
	addr, out, _ := startCoordinator(t, "--data-dir", dir, "--access-token-file", file)
	code, _ := status(t, http.MethodGet, "http://"+addr+"/admin/api/services.json", token, nil)
	assert.Equal(t, http.StatusOK, code)
	assert.NotContains(t, out.String(), token)
	_, err := os.Stat(filepath.Join(dir, "access_token"))
	assert.ErrorIs(t, err, os.ErrNotExist, "no token is generated when one is given")

	both := exec.Command(testenv.Binary(t), "coordinator", "--listen", testenv.FreeAddr(t), "--data-dir", t.TempDir(),
		"--access-token-file", file, "--access-token", "other")
	msg, err := both.CombinedOutput()
	assert.Error(t, err)
	assert.Contains(t, string(msg), "--access-token-file")
}

// Tokens made through the Access Tokens API work on the coordinator at once,
// within their scope: a read-only token cannot use Portolan's own admin API
// (export with secrets, import), a stats token only reads analytics.
func TestAccessTokenScopesOnTheCoordinator(t *testing.T) {
	testenv.SkipShort(t)
	const boot = "bootstrap-0123456789abcdef"
	addr, out, _ := startCoordinator(t, "--data-dir", t.TempDir(), "--access-token", boot, "--max-access-tokens", "3")
	base := "http://" + addr
	create := func(name, permission string, scopes ...string) string {
		code, body := status(t, http.MethodPost, base+"/admin/api/personal/access_tokens.json", boot,
			url.Values{"name": {name}, "permission": {permission}, "scopes[]": scopes})
		require.Equal(t, http.StatusCreated, code, body)
		var v struct {
			AccessToken struct {
				Value string `json:"value"`
			} `json:"access_token"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &v))
		return v.AccessToken.Value
	}
	ro := create("reader", "ro", "account_management")
	rw := create("ops", "rw", "account_management")
	stats := create("grafana", "ro", "stats")

	code, _ := status(t, http.MethodGet, base+"/admin/portolan/composition", ro, nil)
	assert.Equal(t, http.StatusForbidden, code, "export needs rw")
	code, _ = status(t, http.MethodGet, base+"/admin/portolan/composition", rw, nil)
	assert.Equal(t, http.StatusOK, code)
	code, _ = status(t, http.MethodGet, base+"/admin/api/services.json", ro, nil)
	assert.Equal(t, http.StatusOK, code)
	// The map is a read: a read-only token reads it, Basic or Bearer; a
	// stats token does not.
	code, _ = status(t, http.MethodGet, base+"/v1/map", ro, nil)
	assert.Equal(t, http.StatusOK, code, "a read-only token reads the map")
	req, err := http.NewRequest(http.MethodGet, base+"/v1/map", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+ro)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "as a Bearer token too")
	code, _ = status(t, http.MethodGet, base+"/v1/map", stats, nil)
	assert.Equal(t, http.StatusUnauthorized, code, "a stats token is not an admin of the map")
	code, _ = status(t, http.MethodGet, base+"/admin/api/services.json", stats, nil)
	assert.Equal(t, http.StatusForbidden, code)
	code, _ = status(t, http.MethodGet, base+"/stats/services/99/usage.json?metric_name=hits&period=day", stats, nil)
	assert.Equal(t, http.StatusNotFound, code, "stats reaches analytics")
	code, _ = status(t, http.MethodGet, base+"/transactions/authrep.xml?service_token="+stats+"&service_id=1&user_key=k", "", nil)
	assert.Equal(t, http.StatusForbidden, code, "the Service Management API needs account_management")

	code, body := status(t, http.MethodPost, base+"/admin/api/personal/access_tokens.json", boot,
		url.Values{"name": {"fourth"}, "permission": {"ro"}, "scopes[]": {"stats"}})
	assert.Equal(t, http.StatusTooManyRequests, code, body)
	for _, tok := range []string{boot, ro, rw, stats} {
		assert.NotContains(t, out.String(), tok, "no token reaches the log")
	}
}
