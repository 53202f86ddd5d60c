package coordinator

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/threescale"
)

// changesOf is the changes of an apply's answer, as JSON.
func changesOf(t *testing.T, body string) string {
	t.Helper()
	var res struct {
		Changes json.RawMessage `json:"changes"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &res), body)
	return string(res.Changes)
}

// README: the plan's credentials show as "(secret)". A policy chain holds
// some (token_introspection's client_secret, upstream_mtls's private key,
// credentials in a URL such as jwt_parser's issuer_endpoint, a header the
// headers policy sets): the console's rules (redact.Config) hide them, and a plan that
// changes the chain shows that it changed, never them.
func TestPlanNeverShowsPolicyChainSecrets(t *testing.T) {
	c := newApplyCoordinator(t, threescale.Caps{})
	doc := func(n string) string {
		return "apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: news\nname: News\nproxy:\n  policy_chain:\n" +
			"  - name: token_introspection\n    version: builtin\n    configuration: {auth_type: client_id+client_secret, client_id: cid, " +
			"client_secret: introspection-secret-" + n + ", introspection_url: 'https://idp.example.com/introspect', max_cached_tokens: " + n + "}\n" +
			"  - name: jwt_parser\n    version: builtin\n    configuration: {issuer_endpoint: 'https://client:issuer-secret-" + n + "@sso.example.com/realms/news'}\n" +
			"  - name: headers\n    version: builtin\n    configuration: {request: [{op: set, header: Authorization, value: 'Bearer header-secret-" + n + "'}]}\n" +
			"  - {name: apicast, version: builtin, configuration: {}, enabled: true}\n"
	}
	code, body := postApply(t, c, "", doc("1"))
	require.Equal(t, http.StatusOK, code, body)
	for _, q := range []string{"dry_run=true", ""} {
		code, body = postApply(t, c, q, doc("2"))
		require.Equal(t, http.StatusOK, code, body)
		require.NotContains(t, body, "-secret-", "a plan shows no credential")
		require.Contains(t, body, `"policy_chain"`, "the change of the chain is shown")
		require.Contains(t, body, `"introspection_url":"https://idp.example.com/introspect"`, "what is no credential is shown")
		require.Contains(t, body, `"client_secret":"(secret)"`)
	}
}

// README: "Agents never see the issuer's client credentials: home strips
// them from the endpoint in their view." The answer to an image's
// documents, which goes to the instance, shows home's replaced issuer as
// "(secret)" too.
func TestImageReplyNeverShowsHomesIssuerCredentials(t *testing.T) {
	c := newApplyCoordinator(t, threescale.Caps{})
	code, body := postApply(t, c, "", "apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: news\nname: News\nbackend_version: oidc\n"+
		"proxy:\n  oidc_issuer_endpoint: https://client:s3cr3t@sso.example.com/realms/news\n")
	require.Equal(t, http.StatusOK, code, body)
	reply, err := bringImage(t, c, "news", "apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: news\nname: News\nversion: 1\n"+
		"backend_version: oidc\nproxy:\n  oidc_issuer_endpoint: https://sso.example.com/realms/other\n")
	require.NoError(t, err)
	b, err := json.Marshal(reply)
	require.NoError(t, err)
	require.Contains(t, string(b), `"oidc_issuer_endpoint"`, "the change is shown")
	require.NotContains(t, string(b), "s3cr3t")
}
