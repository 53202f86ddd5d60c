package coordinator

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/manifest"
	"github.com/portolan/portolan/threescale"
)

// callbackWithPassword is a service that sets a header to a URL holding a
// password.
const callbackWithPassword = `apiVersion: portolan.dev/v1
kind: Service
system_name: news
name: News
proxy:
  policy_chain:
    - {name: headers, version: builtin, enabled: true, configuration: {request: [{op: set, header: X-Callback, value: "https://cb-user:old-pass-222@cb.example/hook", value_type: plain}]}}
`

// homeWithCallbackPassword is a coordinator holding callbackWithPassword
// and a deployed proxy config of it.
func homeWithCallbackPassword(t *testing.T) *Coordinator {
	t.Helper()
	c := newApplyCoordinator(t, threescale.Caps{})
	code, body := postApply(t, c, "", callbackWithPassword)
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

// A document that says it holds its secrets ("secrets": true, as an export
// with them writes it) is imported as written: a URL's password that is
// "xxxxx" is that password, not a mask for home to fill with its own.
func TestImportOfADocumentWithSecretsTakesXxxxxAsAPassword(t *testing.T) {
	c := homeWithCallbackPassword(t)
	doc := bytes.ReplaceAll(exportDocument(t, c, "&include_secrets=true"), []byte("old-pass-222"), []byte("xxxxx"))
	require.Contains(t, string(doc), `"secrets":true`)

	w := importDocument(c, doc)
	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
	proxy, config := newsChains(t, c)
	assert.Contains(t, string(proxy[0].Configuration), "https://cb-user:xxxxx@cb.example/hook", "the proxy holds the password the document gives")
	assert.NotContains(t, string(proxy[0].Configuration), "old-pass-222")
	assert.Contains(t, string(config), "https://cb-user:xxxxx@cb.example/hook", "the deployed config holds the password the document gives")
	assert.NotContains(t, string(config), "old-pass-222")
}

// The same document exported without secrets keeps home's password: there
// "xxxxx" is the mask the export wrote.
func TestImportOfADocumentWithoutSecretsKeepsHomesMaskedPassword(t *testing.T) {
	c := homeWithCallbackPassword(t)
	doc := exportDocument(t, c, "")
	require.Contains(t, string(doc), `"secrets":false`)
	require.Contains(t, string(doc), "https://cb-user:xxxxx@cb.example/hook")
	rev := c.store.Snapshot().Revision

	w := importDocument(c, doc)
	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
	proxy, config := newsChains(t, c)
	assert.Contains(t, string(proxy[0].Configuration), "old-pass-222")
	assert.Contains(t, string(config), "old-pass-222")
	assert.Equal(t, rev, c.store.Snapshot().Revision, "nothing changed: no revision")
}

// A document that says it holds its secrets yet holds the placeholder of
// an export without them is refused, naming the field: it is altered by
// no restore, and a gateway would send the placeholder as the secret.
func TestImportOfADocumentWithSecretsRefusesThePlaceholder(t *testing.T) {
	c := homeWithCallbackPassword(t)
	doc := bytes.ReplaceAll(exportDocument(t, c, "&include_secrets=true"),
		[]byte("https://cb-user:old-pass-222@cb.example/hook"), []byte(manifest.SecretPlaceholder))
	rev := c.store.Snapshot().Revision

	w := importDocument(c, doc)
	require.Equal(t, http.StatusUnprocessableEntity, w.Code, w.Body.String())
	for _, want := range []string{"news", "headers", "request[0].value", `\"secrets\": true`} {
		assert.Contains(t, w.Body.String(), want)
	}
	assert.Equal(t, rev, c.store.Snapshot().Revision, "nothing imported")
}
