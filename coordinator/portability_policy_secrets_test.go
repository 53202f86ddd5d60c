package coordinator

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/manifest"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/threescale"
)

// secretPolicies is a service whose policy chain holds a credential in each
// way the redact rules know, and what each credential is.
const secretPolicies = `apiVersion: portolan.dev/v1
kind: Service
system_name: news
name: News
proxy:
  policy_chain:
    - {name: token_introspection, version: builtin, enabled: true, configuration: {auth_type: client_id+client_secret, client_id: portolan, client_secret: ti-s3cret-value, introspection_url: "https://idp.example/introspect"}}
    - {name: headers, version: builtin, enabled: true, configuration: {request: [{op: set, header: Authorization, value: Bearer hdr-token-123, value_type: plain}]}}
    - {name: upstream, version: builtin, enabled: true, configuration: {rules: [{regex: /, url: "https://upstream.example/v1?api_key=url-pass-456"}]}}
    - {name: tls, version: builtin, enabled: true, configuration: {certificates: [{certificate: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----", certificate_key: "-----BEGIN PRIVATE KEY-----\nkey-material-789\n-----END PRIVATE KEY-----"}]}}
`

var policySecretValues = []string{"ti-s3cret-value", "hdr-token-123", "url-pass-456", "key-material-789"}

// homeWithPolicySecrets is a coordinator holding secretPolicies and a
// deployed proxy config of them, as a stock APIcast reads it.
func homeWithPolicySecrets(t *testing.T) *Coordinator {
	t.Helper()
	c := newApplyCoordinator(t, threescale.Caps{})
	code, body := postApply(t, c, "", secretPolicies)
	require.Equal(t, http.StatusOK, code, body)
	_, err := c.store.Update(context.Background(), func(tx *composition.Tx) error {
		s, _ := tx.View().ServiceBySystemName("news")
		p, _ := tx.View().Proxies.Get(s.ID)
		content, err := json.Marshal(map[string]any{"proxy": map[string]any{"service_id": s.ID, "policy_chain": p.PolicyChain}})
		require.NoError(t, err)
		return tx.Create(&composition.ProxyConfig{ServiceID: s.ID, Environment: composition.EnvProduction, Version: 1, Content: content})
	})
	require.NoError(t, err)
	return c
}

func exportDocument(t *testing.T, c *Coordinator, query string) []byte {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, registry.PathAdminComposition+"?access_token="+fixtureToken+query, nil)
	w := httptest.NewRecorder()
	c.portability().ServeHTTP(w, r)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	return w.Body.Bytes()
}

func importDocument(c *Coordinator, doc []byte) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, registry.PathAdminComposition+"?access_token="+fixtureToken, bytes.NewReader(doc))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	c.portability().ServeHTTP(w, r)
	return w
}

// newsChains is the policy chain of home's news proxy and of its deployed
// proxy config.
func newsChains(t *testing.T, c *Coordinator) (proxy []composition.PolicyConfig, config json.RawMessage) {
	t.Helper()
	snap := c.store.Snapshot()
	s, ok := snap.ServiceBySystemName("news")
	require.True(t, ok)
	p, _ := snap.Proxies.Get(s.ID)
	for _, pc := range snap.ProxyConfigs.Filter(func(pc *composition.ProxyConfig) bool { return pc.ServiceID == s.ID }) {
		config = pc.Content
	}
	return p.PolicyChain, config
}

func TestExportWithoutSecretsHoldsNoPolicyChainSecrets(t *testing.T) {
	c := homeWithPolicySecrets(t)
	out := exportDocument(t, c, "")
	for _, secret := range policySecretValues {
		assert.Falsef(t, bytes.Contains(out, []byte(secret)), "an export without secrets holds %q", secret)
	}
	assert.Contains(t, string(out), manifest.SecretPlaceholder)
	all := exportDocument(t, c, "&include_secrets=true")
	for _, secret := range policySecretValues {
		assert.Truef(t, bytes.Contains(all, []byte(secret)), "an export with secrets holds %q", secret)
	}
}

// An export without secrets imported back keeps home's policy secrets, in
// the proxy and in its deployed config, and writes no revision.
func TestExportWithoutSecretsImportedBackKeepsPolicySecrets(t *testing.T) {
	c := homeWithPolicySecrets(t)
	proxy, config := newsChains(t, c)
	rev := c.store.Snapshot().Revision
	w := importDocument(c, exportDocument(t, c, ""))
	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
	gotProxy, gotConfig := newsChains(t, c)
	assert.Equal(t, proxy, gotProxy, "the proxy's policy secrets are home's")
	assert.Equal(t, string(config), string(gotConfig), "the deployed config's are home's")
	assert.Equal(t, 1, c.store.Snapshot().ProxyConfigs.Len(), "no second proxy config")
	assert.Equal(t, rev, c.store.Snapshot().Revision, "nothing changed: no revision")
}

// A hidden policy secret home has nothing for (imported into another home)
// is refused naming the service, the policy and the field; nothing is
// stored.
func TestImportRefusesAHiddenPolicySecretHomeCannotMatch(t *testing.T) {
	doc := exportDocument(t, homeWithPolicySecrets(t), "")
	other := newApplyCoordinator(t, threescale.Caps{})
	rev := other.store.Snapshot().Revision
	w := importDocument(other, doc)
	require.Equal(t, http.StatusUnprocessableEntity, w.Code, w.Body.String())
	for _, want := range []string{"news", "token_introspection", "client_secret", "--include-secrets"} {
		assert.Contains(t, w.Body.String(), want)
	}
	assert.Equal(t, rev, other.store.Snapshot().Revision, "nothing imported")
	assert.NotContains(t, w.Body.String(), manifest.SecretPlaceholder+`"`, "the answer holds no configuration")

	// With secrets, the same composition imports whole.
	w = importDocument(other, exportDocument(t, homeWithPolicySecrets(t), "&include_secrets=true"))
	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
	proxy, _ := newsChains(t, other)
	assert.Contains(t, string(proxy[0].Configuration), "ti-s3cret-value")
}

// Policies holding no credential move whole to another home through an
// export without secrets: the counter names of APIcast's rate_limit and
// the JSON log fields of its logging policy are under "key", yet they are
// no secret, and a home that never held the policies takes them as written.
func TestExportWithoutSecretsOfRateLimitAndLoggingImportsIntoAnotherHome(t *testing.T) {
	const limits = `apiVersion: portolan.dev/v1
kind: Service
system_name: news
name: News
proxy:
  policy_chain:
    - {name: rate_limit, version: builtin, enabled: true, configuration: {limits_exceeded_error: {status_code: 429}, fixed_window_limiters: [{key: {name: per-host-counter, name_type: plain, scope: service}, count: 10, window: 60}]}}
    - {name: logging, version: builtin, enabled: true, configuration: {enable_json_logs: true, json_object_config: [{key: upstream-latency-field, value: "{{upstream_response_time}}", value_type: liquid}]}}
`
	home := newApplyCoordinator(t, threescale.Caps{})
	code, body := postApply(t, home, "", limits)
	require.Equal(t, http.StatusOK, code, body)
	doc := exportDocument(t, home, "")
	assert.Contains(t, string(doc), "per-host-counter", "a counter's name is no secret: the export shows it")
	assert.Contains(t, string(doc), "upstream-latency-field", "a log field's name is no secret: the export shows it")

	other := newApplyCoordinator(t, threescale.Caps{})
	w := importDocument(other, doc)
	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
	proxy, _ := newsChains(t, other)
	assert.JSONEq(t, `{"limits_exceeded_error":{"status_code":429},"fixed_window_limiters":[{"key":{"name":"per-host-counter","name_type":"plain","scope":"service"},"count":10,"window":60}]}`,
		string(proxy[0].Configuration))
	assert.JSONEq(t, `{"enable_json_logs":true,"json_object_config":[{"key":"upstream-latency-field","value":"{{upstream_response_time}}","value_type":"liquid"}]}`,
		string(proxy[1].Configuration))
}

// A deployed config whose chain holds an entry that is no policy (a stray
// value) still has the secrets of its other policies hidden, and they come
// back when the export is imported back.
func TestExportWithoutSecretsHidesPolicySecretsBesideAStrayChainEntry(t *testing.T) {
	c := newApplyCoordinator(t, threescale.Caps{})
	code, body := postApply(t, c, "", secretPolicies)
	require.Equal(t, http.StatusOK, code, body)
	_, err := c.store.Update(context.Background(), func(tx *composition.Tx) error {
		s, _ := tx.View().ServiceBySystemName("news")
		p, _ := tx.View().Proxies.Get(s.ID)
		chain := []any{42}
		for _, pc := range p.PolicyChain {
			chain = append(chain, pc)
		}
		content, err := json.Marshal(map[string]any{"proxy": map[string]any{"service_id": s.ID, "policy_chain": chain}})
		require.NoError(t, err)
		return tx.Create(&composition.ProxyConfig{ServiceID: s.ID, Environment: composition.EnvProduction, Version: 1, Content: content})
	})
	require.NoError(t, err)
	_, config := newsChains(t, c)
	rev := c.store.Snapshot().Revision

	out := exportDocument(t, c, "")
	for _, secret := range policySecretValues {
		assert.Falsef(t, bytes.Contains(out, []byte(secret)), "an export without secrets holds %q", secret)
	}
	w := importDocument(c, out)
	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
	_, got := newsChains(t, c)
	assert.Equal(t, string(config), string(got), "the deployed config's secrets are home's")
	assert.Equal(t, rev, c.store.Snapshot().Revision, "nothing changed: no revision")
}
