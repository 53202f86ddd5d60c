//go:build !agentonly

package main

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/manifest"
	"github.com/portolan/portolan/registry"
)

// headersService sets an Authorization header: an export without secrets
// hides its value.
const headersService = `apiVersion: portolan.dev/v1
kind: Service
system_name: news
name: News
proxy:
  policy_chain:
  - {name: headers, version: builtin, enabled: true, configuration: {request: [{op: set, header: Authorization, value: Bearer hdr-token-123, value_type: plain}]}}
`

// olderHome is a real coordinator seen as a home older than this CLI: one
// that answers nothing at the features path (404, as its mux did), and
// counts the documents it is sent (applies and imports).
func olderHome(t *testing.T, home string) (addr string, applies *atomic.Int32) {
	t.Helper()
	target, err := url.Parse(home)
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(target)
	applies = &atomic.Int32{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/admin/portolan/features") {
			http.NotFound(w, r)
			return
		}
		if r.URL.Path == registry.PathAdminApply || (r.Method == http.MethodPost && r.URL.Path == registry.PathAdminComposition) {
			applies.Add(1)
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, applies
}

// An export without secrets applied through a home too old to put home's
// values back for its placeholders (it would store them as the secrets) is
// refused before anything is sent, saying why and what to do; the same
// documents apply to a home that announces it, which keeps its secret.
func TestApplyRefusesHiddenSecretsToAHomeThatDoesNotRestoreThem(t *testing.T) {
	home := startCoordinator(t, "admin")
	dir := docsDir(t, map[string]string{"news.yaml": headersService})
	code, _, errOut := runCmd(t, "apply", "-f", dir, "--home", home, "--token", "admin")
	require.Equal(t, 0, code, errOut)

	code, out, errOut := runCmd(t, "export", "--home", home, "--token", "admin", "-o", "yaml")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, manifest.SecretPlaceholder)
	require.NotContains(t, out, "hdr-token-123")
	exported := filepath.Join(docsDir(t, map[string]string{"home.yaml": out}), "home.yaml")

	old, applies := olderHome(t, home)
	for _, cmd := range [][]string{{"apply"}, {"apply", "--dry-run"}, {"diff"}} {
		code, _, errOut = runCmd(t, append(cmd, "-f", exported, "--home", old, "--token", "admin")...)
		assert.NotEqual(t, 0, code, "%v to an older home: refused", cmd)
		for _, want := range []string{"home.yaml", "news", "headers", manifest.SecretPlaceholder, "does not announce", "upgrade home", "--include-secrets"} {
			assert.Contains(t, errOut, want, "%v: the refusal says where, why and what to do", cmd)
		}
	}
	assert.Zero(t, applies.Load(), "no document was sent to the older home")

	// Documents without hidden values go to the older home as before.
	plain := docsDir(t, map[string]string{"store.yaml": storeBackend})
	code, _, errOut = runCmd(t, "apply", "-f", plain, "--home", old, "--token", "admin")
	require.Equal(t, 0, code, errOut)

	// A home that announces it keeps its own value.
	code, out, errOut = runCmd(t, "apply", "-f", exported, "--home", home, "--token", "admin")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "0 to create, 0 to update, 0 to delete", "home's secret kept: nothing to change")
}
