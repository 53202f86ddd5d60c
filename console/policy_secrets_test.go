package console

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// Secrets APIcast's policies hold under keys that do not sound secret
// (policies.json): token_introspection with auth_type private_key_jwt and
// certificate_type embedded keeps in "certificate" the "Client RSA private
// key used to sign JWT" as a data URL; routing matches a request by a
// header's or query argument's value ({"match": "header", "header_name":
// "X-Api-Key", "value": …}); http_proxy and camel take a proxy URL whose
// password may hold a raw "/".
const (
	embeddedKeyB64 = "LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlFb3dJQkFBS0NBUUVBdGVzdGtleQotLS0tLUVORCBSU0EgUFJJVkFURSBLRVktLS0tLQo="
	pemKeyBody     = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7-pem-secret"
	routingKey     = "route-key-secret-123456"
	routingToken   = "route-token-secret-654321"
	bearerSecret   = "upstream-bearer-secret-777777"
	basicSecret    = "dXNlcjpwYXNzd29yZC05OTk="
	proxyPassword  = "pa/ss+w0rd-secret"
)

var policySecretsChain = []composition.PolicyConfig{
	{Name: "token_introspection", Version: "builtin", Enabled: true, Configuration: json.RawMessage(
		`{"auth_type":"private_key_jwt","client_id":"portolan","certificate_type":"embedded",` +
			`"certificate":"data:application/x-x509-ca-cert;name=key.pem;base64,` + embeddedKeyB64 + `",` +
			`"client_jwt_assertion_audience":"https://idp.example/token","introspection_url":"https://idp.example/introspect"}`)},
	{Name: "upstream_mtls", Version: "builtin", Enabled: true, Configuration: json.RawMessage(
		`{"certificate_type":"path","certificate":"-----BEGIN PRIVATE KEY-----\n` + pemKeyBody + `\n-----END PRIVATE KEY-----"}`)},
	{Name: "routing", Version: "builtin", Enabled: true, Configuration: json.RawMessage(
		`{"rules":[{"url":"https://a.example","condition":{"operations":[` +
			`{"match":"header","header_name":"X-Api-Key","op":"==","value":"` + routingKey + `","value_type":"plain"},` +
			`{"match":"query_arg","query_arg_name":"access_token","op":"==","value":"` + routingToken + `"},` +
			`{"match":"header","header_name":"X-Region","op":"==","value":"eu-west"}]}}]}`)},
	{Name: "headers", Version: "builtin", Enabled: true, Configuration: json.RawMessage(
		`{"request":[{"op":"set","header":"X-Upstream","value":"Bearer ` + bearerSecret + `"},` +
			`{"op":"set","header":"X-Upstream-Login","value":"basic ` + basicSecret + `"}]}`)},
	{Name: "http_proxy", Version: "builtin", Enabled: true, Configuration: json.RawMessage(
		`{"all_proxy":"http://proxy-user:` + proxyPassword + `@proxy.internal:3128"}`)},
	{Name: "apicast", Version: "builtin", Enabled: true, Configuration: json.RawMessage(`{}`)},
}

// TestServicePageHidesSecretsPoliciesHoldUnderHarmlessKeys: "No key,
// token or password is shown" (composition.go), here for the secrets above.
func TestServicePageHidesSecretsPoliciesHoldUnderHarmlessKeys(t *testing.T) {
	f := newFixture(t)
	_, err := f.store.Update(context.Background(), func(tx *composition.Tx) error {
		px, _ := tx.View().Proxies.Get(f.billing.ID)
		p := *px
		p.PolicyChain = policySecretsChain
		return tx.Update(&p)
	})
	require.NoError(t, err)
	path := "/ui/services/" + strconv.FormatInt(f.billing.ID, 10)
	code, body := f.get(t, path)
	require.Equal(t, http.StatusOK, code, body)
	for _, s := range []string{embeddedKeyB64[8:40], pemKeyBody, routingKey, routingToken, bearerSecret, basicSecret, proxyPassword, "w0rd-secret"} {
		assert.NotContains(t, body, s, "%s shows a secret", path)
	}
	for _, s := range []string{"https://idp.example/introspect", "eu-west", "http://proxy-user:xxxxx@proxy.internal:3128"} {
		assert.Contains(t, body, s, "what is no secret stays readable")
	}
}

// A credential is hidden whatever the key it is under: an embedded file,
// a PEM private key, an Authorization value.
func TestMaskedJSONHidesCredentialValuesUnderAnyKey(t *testing.T) {
	out := maskedJSON(json.RawMessage(`{"file":"data:text/plain;base64,c2VjcmV0LWZpbGUtY29udGVudA==",` +
		`"pem":"-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIEC-secret\n-----END EC PRIVATE KEY-----",` +
		`"auth":"  Bearer abc-bearer-secret","login":"BASIC YWJjOmRlZi1zZWNyZXQ=",` +
		`"note":"Bearers of news","kind":"basic","msg":"Basic plan users wait","tpl":"Bearer {{ jwt.token }}",` +
		`"cert":"-----BEGIN CERTIFICATE-----"}`))
	for _, s := range []string{"c2VjcmV0LWZpbGUtY29udGVudA==", "MHcCAQEEIEC-secret", "abc-bearer-secret", "YWJjOmRlZi1zZWNyZXQ="} {
		assert.NotContains(t, out, s, out)
	}
	for _, s := range []string{"Bearers of news", `"kind": "basic"`, "Basic plan users wait", "Bearer {{ jwt.token }}", "-----BEGIN CERTIFICATE-----"} {
		assert.Contains(t, out, s, "a value that is no credential stays readable")
	}
	assert.True(t, json.Valid([]byte(out)), out)
}
