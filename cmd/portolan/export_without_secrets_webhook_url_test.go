package main

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// An export without --include-secrets leaves credentials behind: the README
// says so of every URL that carries them (the OIDC issuer's
// https://client:secret@issuer is exported without them, a policy's URL
// password as xxxxx). A webhook receiver's URL is one such URL: a receiver
// behind HTTP Basic auth is set as https://user:password@host/..., and RFC
// 3986 section 3.2.1 says "Applications should not render as clear text any
// data after the first colon (":") found within a userinfo subcomponent".
// The password must not be in the export, and importing that export back
// into the home it came from must keep home's password (as an import keeps
// every other hidden credential), so the receiver still authenticates.
func TestExportWithoutSecretsLeavesTheWebhookURLsPasswordBehind(t *testing.T) {
	const password = "hookPassw0rdSecret"
	home := startCoordinator(t, "admin-a")
	receiver := "https://hookuser:" + password + "@hooks.example.com/portolan"
	sendAdminForm(t, http.MethodPut, home+"/admin/api/webhooks.json", "admin-a", url.Values{"url": {receiver}, "active": {"true"}}, http.StatusOK)

	code, out, errOut := runCmd(t, "export", "--home", home, "--token", "admin-a")
	require.Equal(t, 0, code, errOut)
	require.NotContains(t, out, password, "an export without --include-secrets carries the webhook receiver's password")

	// Back into the same home: home's receiver keeps its password.
	file := filepath.Join(t.TempDir(), "composition.json")
	require.NoError(t, os.WriteFile(file, []byte(out), 0o600))
	code, _, errOut = runCmd(t, "import", "composition", file, "--home", home, "--token", "admin-a")
	require.Equal(t, 0, code, errOut)
	code, full, errOut := runCmd(t, "export", "--home", home, "--token", "admin-a", "--include-secrets")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, full, password, "importing an export without secrets took the webhook receiver's password from home")
}
