package agent

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// An --mgmt-upstream the agent refuses is named in its error without what
// it may carry as a credential. Users coming from 3scale write the admin
// URL with its token in it: the toolbox's remotes (3scale_toolbox, the
// Remotes doc, "Remote URLS":
// "http[s]://<provider_key>|<access_token>@<3scale-instance-domain>"), and
// porta's API docs send access_token in the query.
// A URL with a query, a fragment, or the token without a scheme is refused
// (the token belongs in --mgmt-token), and the refusal goes to the agent's
// stderr, the container's log: the trust model (DESIGN.md "Trust") wants
// no access token in any log line.
func TestMgmtUpstreamRefusedNeverShowsSecrets(t *testing.T) {
	spec := filepath.Join(t.TempDir(), "spec.json")
	require.NoError(t, os.WriteFile(spec, []byte(`{"swagger":"2.0","info":{"title":"t","version":"1"},"paths":{}}`), 0o600))
	const secret = "SECRETvalue123"
	for _, upstream := range []string{
		"https://admin.example.com/?access_token=" + secret,
		"https://admin.example.com/#" + secret,
		secret + "@admin.example.com",
		"http://10.1.2.3/admin?access_token=" + secret,
	} {
		a := testenv.StartAgentAt(t, "", "--mgmt-listen", testenv.FreeAddr(t), "--mgmt-upstream", upstream,
			"--mgmt-token", "SECRETtoken456", "--mgmt-spec", spec, "--", "true")
		code, exited := a.Wait(20 * time.Second)
		require.True(t, exited, "the agent did not refuse %s:\n%s", upstream, a.Output.String())
		assert.NotZero(t, code, upstream)
		out := a.Output.String()
		assert.Contains(t, out, "--mgmt-upstream", "the refusal names the flag")
		assert.NotContains(t, out, secret, "the refusal shows the credential of %s", upstream)
		assert.NotContains(t, out, "SECRETtoken456")
	}
}
