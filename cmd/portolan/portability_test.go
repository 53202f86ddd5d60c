package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/coordinator"
	"github.com/portolan/portolan/manifest"
)

// startCoordinator runs a coordinator in this process and returns its URL.
func startCoordinator(t *testing.T, accessToken string) string {
	t.Helper()
	return startCoordinatorWith(t, coordinator.Config{AccessToken: accessToken})
}

// startCoordinatorWith runs a coordinator of cfg on loopback, in a data
// dir of its own, with an agent token.
func startCoordinatorWith(t *testing.T, cfg coordinator.Config) string {
	t.Helper()
	cfg.Listen, cfg.DataDir, cfg.AgentToken, cfg.Logger = "127.0.0.1:0", t.TempDir(), "agent-token", zerolog.Nop()
	co, err := coordinator.New(cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- co.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return "http://" + co.Addr()
}

// sendAdminForm sends form to target (a URL of 3scale's API at home) with
// token as Basic auth, requires the status want, and returns the body.
func sendAdminForm(t *testing.T, method, target, token string, form url.Values, want int) string {
	t.Helper()
	req, err := http.NewRequest(method, target, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("", token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, want, resp.StatusCode, "%.300s", b)
	return string(b)
}

func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	app, stdout, stderr := testApp(nil)
	code := run(app, append([]string{"portolan"}, args...), stderr)
	return code, stdout.String(), stderr.String()
}

// TestExportImportCommands: export writes the document, import reads it
// back into another coordinator, and home's refusals are named with the
// request and home's answer.
func TestExportImportCommands(t *testing.T) {
	a, b := startCoordinator(t, "admin-a"), startCoordinator(t, "admin-b")

	code, out, errOut := runCmd(t, "export", "--home", a+"/", "--token", "admin-a", "--include-secrets")
	require.Equal(t, 0, code, errOut)
	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &doc), out)
	assert.Equal(t, "portolan.composition/v1", doc["format"])
	assert.Equal(t, true, doc["secrets"])

	file := filepath.Join(t.TempDir(), "composition.json")
	require.NoError(t, os.WriteFile(file, []byte(out), 0o600))
	code, out, errOut = runCmd(t, "import", "composition", file, "--home", b, "--token", "admin-b")
	require.Equal(t, 0, code, errOut)
	assert.True(t, strings.HasPrefix(out, `{"imported":`), out)
	tokenFile := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte("admin-b\n"), 0o600))
	code, out, errOut = runCmd(t, "import", "composition", file, "--home", b, "--token-file", tokenFile)
	require.Equal(t, 0, code, "--token-file after FILE is read as before it: %s", errOut)
	assert.True(t, strings.HasPrefix(out, `{"imported":`), out)

	code, out, errOut = runCmd(t, "export", "--home", a, "--token", "nope")
	assert.Equal(t, 1, code)
	assert.Empty(t, out)
	assert.Equal(t, "portolan: export: home refused the token (HTTP 403: Access denied): "+adminTokenHint+"\n", errOut)
	assert.NotContains(t, errOut, "nope", "the token is not printed")

	require.NoError(t, os.WriteFile(file, []byte(`{"format":"nope"}`), 0o600))
	code, _, errOut = runCmd(t, "import", "composition", file, "--home", b, "--token", "admin-b")
	assert.Equal(t, 1, code)
	assert.True(t, strings.HasPrefix(errOut, "portolan: import composition: POST /admin/portolan/composition: 4"), errOut)
}

// An export without secrets imported into a home too old to put home's
// values back for its placeholders (it would store them as the secrets) is
// refused before anything is sent, as apply refuses it; an export with
// secrets goes to it as before, and the one without to a home that
// announces it, which keeps its secret.
func TestImportRefusesHiddenSecretsToAHomeThatDoesNotRestoreThem(t *testing.T) {
	home := startCoordinator(t, "admin")
	code, _, errOut := runCmd(t, "apply", "-f", docsDir(t, map[string]string{"news.yaml": headersService}), "--home", home, "--token", "admin")
	require.Equal(t, 0, code, errOut)
	code, out, errOut := runCmd(t, "export", "--home", home, "--token", "admin")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, manifest.SecretPlaceholder)
	require.NotContains(t, out, "hdr-token-123")
	hidden := filepath.Join(docsDir(t, map[string]string{"home.json": out}), "home.json")

	old, sent := olderHome(t, home)
	code, _, errOut = runCmd(t, "import", "composition", hidden, "--home", old, "--token", "admin")
	assert.NotEqual(t, 0, code, "import to an older home: refused")
	for _, want := range []string{"import composition", "home.json", "news", "headers", manifest.SecretPlaceholder, "does not announce", "upgrade home", "--include-secrets"} {
		assert.Contains(t, errOut, want, "the refusal says where, why and what to do")
	}
	assert.Zero(t, sent.Load(), "no document was sent to the older home")

	code, out, errOut = runCmd(t, "export", "--home", home, "--token", "admin", "--include-secrets")
	require.Equal(t, 0, code, errOut)
	withSecrets := filepath.Join(docsDir(t, map[string]string{"secrets.json": out}), "secrets.json")
	code, _, errOut = runCmd(t, "import", "composition", withSecrets, "--home", old, "--token", "admin")
	require.Equal(t, 0, code, "a document holding its secrets goes to any home: %s", errOut)

	code, _, errOut = runCmd(t, "import", "composition", hidden, "--home", home, "--token", "admin")
	require.Equal(t, 0, code, errOut)
	code, out, errOut = runCmd(t, "export", "--home", home, "--token", "admin", "--include-secrets")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "hdr-token-123", "home kept its secret")
}

// A document that says it holds its secrets ("secrets": true) yet holds
// the placeholder of an export without secrets (merged by hand, or
// exported from a home that stored one) is not sent to a home that does
// not announce restoring hidden secrets: such a home stores the
// placeholder as the secret. Its "xxxxx" in a URL is a password, sent.
func TestImportRefusesAPlaceholderInADocumentWithSecretsToAnOlderHome(t *testing.T) {
	home := startCoordinator(t, "admin")
	code, _, errOut := runCmd(t, "apply", "-f", docsDir(t, map[string]string{"news.yaml": headersService}), "--home", home, "--token", "admin")
	require.Equal(t, 0, code, errOut)
	code, out, errOut := runCmd(t, "export", "--home", home, "--token", "admin", "--include-secrets")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "Bearer hdr-token-123")
	marked := strings.ReplaceAll(out, "Bearer hdr-token-123", manifest.SecretPlaceholder)
	file := filepath.Join(docsDir(t, map[string]string{"marked.json": marked}), "marked.json")

	old, sent := olderHome(t, home)
	code, _, errOut = runCmd(t, "import", "composition", file, "--home", old, "--token", "admin")
	assert.NotEqual(t, 0, code, "import to an older home: refused")
	for _, want := range []string{"import composition", "marked.json", "news", "headers", "does not announce"} {
		assert.Contains(t, errOut, want, "the refusal says where and why")
	}
	assert.Zero(t, sent.Load(), "no document was sent to the older home")
}

// In a document with secrets only the placeholder is hidden: "xxxxx" as a
// URL's password is the password.
func TestHiddenCompositionSecretOfADocumentWithSecretsIsThePlaceholderOnly(t *testing.T) {
	doc := func(secrets bool, value string) []byte {
		return fmt.Appendf(nil, `{"secrets": %t, "services": [{"id": 2, "system_name": "news"}],
"proxies": [{"service_id": 2, "policy_chain": [{"name": "camel", "configuration": {"http_proxy": %q}}]}]}`, secrets, value)
	}
	assert.Empty(t, hiddenCompositionSecret("f.json", doc(true, "http://u:xxxxx@proxy:8080")))
	assert.Contains(t, hiddenCompositionSecret("f.json", doc(false, "http://u:xxxxx@proxy:8080")), "http_proxy")
	assert.Contains(t, hiddenCompositionSecret("f.json", doc(true, manifest.SecretPlaceholder)), "http_proxy")
	assert.Empty(t, hiddenCompositionSecret("f.json", doc(true, "http://u:pass@proxy:8080")))
}
