package coordinator_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A caller refused for its token on Portolan's admin API is answered at
// once, before the body it announced has come, and the connection closed,
// as on the agent API (README: a caller refused for its token is answered
// before its body is read).
func TestPortolanAdminRefusesBeforeTheBody(t *testing.T) {
	base, _ := startUsageHome(t, t.TempDir())
	for _, path := range []string{"/admin/portolan/composition", "/admin/portolan/tokens",
		"/admin/portolan/gossip/rotate-key", "/admin/portolan/apply"} {
		conn, err := net.Dial("tcp", base[len("http://"):])
		require.NoError(t, err)
		_, err = io.WriteString(conn, "POST "+path+"?access_token=wrong HTTP/1.1\r\nHost: home\r\n"+
			"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
		require.NoError(t, err)
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(800*time.Millisecond)))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if assert.NoError(t, err, "%s: answered before the body's end", path) {
			resp.Body.Close()
			assert.Equal(t, http.StatusForbidden, resp.StatusCode, path)
			assert.True(t, resp.Close, "%s: the connection is closed", path)
		}
		conn.Close()
	}
}

// A valid token without rw account_management is told what it lacks on
// Portolan's admin API, in porta's words, as on the 3scale API; no token is
// "Access denied".
func TestPortolanAdminNamesTheMissingPermission(t *testing.T) {
	base, _ := startUsageHome(t, t.TempDir())
	resp, err := http.PostForm(base+"/admin/api/personal/access_tokens.json?access_token="+usageAdminToken,
		url.Values{"name": {"reader"}, "permission": {"ro"}, "scopes[]": {"account_management"}})
	require.NoError(t, err)
	var created struct {
		AccessToken struct {
			Value string `json:"value"`
		} `json:"access_token"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&created))
	resp.Body.Close()
	require.NotEmpty(t, created.AccessToken.Value)

	for token, want := range map[string]string{
		created.AccessToken.Value: `{"error":"Your access token does not have the correct permissions"}`,
		"wrong":                   `{"error":"Access denied"}`,
	} {
		for _, call := range []struct{ method, path string }{
			{http.MethodGet, "/admin/portolan/composition"},
			{http.MethodGet, "/admin/portolan/tokens"},
			{http.MethodPost, "/admin/portolan/apply"},
		} {
			req, err := http.NewRequest(call.method, base+call.path+"?access_token="+token, nil)
			require.NoError(t, err)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			assert.Equal(t, http.StatusForbidden, resp.StatusCode, call.path)
			assert.JSONEq(t, want, string(b), call.path)
		}
	}
}

// The export (with include_secrets, every key) is never kept by a cache on
// the way, as the agents' views are not.
func TestExportIsNeverCached(t *testing.T) {
	base, _ := startUsageHome(t, t.TempDir())
	for _, query := range []string{"", "&include_secrets=true"} {
		resp, err := http.Get(base + "/admin/portolan/composition?access_token=" + usageAdminToken + query)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"), query)
	}
}
