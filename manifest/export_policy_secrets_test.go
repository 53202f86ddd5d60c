package manifest_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/manifest"
)

// policySecrets are the credentials secretChain's policies hold, each as
// it must never show in an export without secrets.
var policySecrets = []string{"ti-s3cret-value", "hdr-token-123", "url-pass-456", "key-material-789", "data:application/x-pem-file;base64,S0VZ"}

// secretChain is a policy chain holding a credential in each of the ways
// the redact rules know: a secret-named key, an Authorization header's
// value, a URL's password, an embedded private key and a data: URL.
func secretChain() []composition.PolicyConfig {
	return []composition.PolicyConfig{
		{Name: "token_introspection", Version: "builtin", Enabled: true, Configuration: json.RawMessage(
			`{"auth_type":"client_id+client_secret","client_id":"portolan","client_secret":"ti-s3cret-value","introspection_url":"https://idp.example/introspect","max_ttl_tokens":60}`)},
		{Name: "headers", Version: "builtin", Enabled: true, Configuration: json.RawMessage(
			`{"request":[{"op":"set","header":"X-Trace","value":"on","value_type":"plain"},{"op":"set","header":"Authorization","value":"Bearer hdr-token-123","value_type":"plain"}]}`)},
		{Name: "upstream", Version: "builtin", Enabled: true, Configuration: json.RawMessage(
			`{"rules":[{"regex":"/","url":"https://svc:url-pass-456@upstream.example/v1"}]}`)},
		{Name: "tls", Version: "builtin", Enabled: true, Configuration: json.RawMessage(
			`{"certificates":[{"certificate_path":"/etc/cert.pem","certificate_key":"-----BEGIN PRIVATE KEY-----\nkey-material-789\n-----END PRIVATE KEY-----"}],` +
				`"client_certificate":"data:application/x-pem-file;base64,S0VZ"}`)},
		{Name: "apicast", Version: "builtin", Enabled: true, Configuration: json.RawMessage(`{}`)},
	}
}

// withChain returns buildComposition's with news_api's policy chain chain.
func withChain(t *testing.T, base *composition.Composition, chain []composition.PolicyConfig) *composition.Composition {
	t.Helper()
	tx := composition.NewTx(base, time.Now())
	s, ok := tx.View().ServiceBySystemName("news_api")
	require.True(t, ok)
	p, ok := tx.View().Proxies.Get(s.ID)
	require.True(t, ok)
	n := *p
	n.PolicyChain = chain
	require.NoError(t, tx.Update(&n))
	return tx.Result()
}

// exportYAML is home's export without secrets as `portolan export -o yaml`
// writes it.
func exportYAML(t *testing.T, home *composition.Composition) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, manifest.Encode(&b, manifest.Export(home, manifest.ExportOptions{}), "yaml"))
	return b.Bytes()
}

func TestExportWithoutSecretsHidesPolicyChainSecrets(t *testing.T) {
	home := withChain(t, buildComposition(t), secretChain())
	out := exportYAML(t, home)
	for _, secret := range policySecrets {
		assert.Falsef(t, bytes.Contains(out, []byte(secret)), "an export without secrets shows no policy secret, yet %q is in it", secret)
	}
	assert.Contains(t, string(out), manifest.SecretPlaceholder, "a hidden value is recognisable")
	assert.Contains(t, string(out), "https://svc:xxxxx@upstream.example/v1", "a URL keeps its shape")
	assert.Contains(t, string(out), "https://idp.example/introspect", "what is no secret is shown")

	var all bytes.Buffer
	require.NoError(t, manifest.Encode(&all, manifest.Export(home, manifest.ExportOptions{IncludeSecrets: true}), "yaml"))
	for _, secret := range policySecrets {
		assert.Contains(t, all.String(), secret, "an export with secrets carries them")
	}
}

// An export without secrets applied back to its home keeps home's policy
// secrets: nothing changes, and the chain is home's byte for byte.
func TestExportWithoutSecretsAppliedBackKeepsPolicySecrets(t *testing.T) {
	home := withChain(t, buildComposition(t), secretChain())
	docs, err := manifest.Decode(bytes.NewReader(exportYAML(t, home)), "export.yaml")
	require.NoError(t, err)
	desired, err := manifest.Desired(docs, home)
	require.NoError(t, err)
	plan, err := composition.Diff(home, desired, composition.DiffOptions{Owners: manifest.Owners(docs), Secrets: true})
	require.NoError(t, err)
	assert.Empty(t, plan.Changes, "applied back, nothing changes")
	s, _ := desired.ServiceBySystemName("news_api")
	p, _ := desired.Proxies.Get(s.ID)
	for i, want := range secretChain() {
		assert.JSONEq(t, string(want.Configuration), string(p.PolicyChain[i].Configuration), want.Name)
	}

	// An edit beside a hidden value keeps it: the secret is still home's.
	for i := range docs {
		if s := docs[i].Service; s != nil && s.SystemName == "news_api" {
			s.Proxy.PolicyChain[0].Configuration = bytes.Replace(s.Proxy.PolicyChain[0].Configuration,
				[]byte("https://idp.example/introspect"), []byte("https://idp2.example/introspect"), 1)
		}
	}
	desired, err = manifest.Desired(docs, home)
	require.NoError(t, err)
	p, _ = desired.Proxies.Get(s.ID)
	assert.Contains(t, string(p.PolicyChain[0].Configuration), "ti-s3cret-value")
	assert.Contains(t, string(p.PolicyChain[0].Configuration), "idp2.example")
}

// A hidden value home has nothing for is refused, naming the service, the
// policy and the field: stored, a gateway would send the placeholder as
// the secret.
func TestApplyRefusesAHiddenPolicySecretHomeCannotMatch(t *testing.T) {
	home := withChain(t, buildComposition(t), secretChain())
	out := exportYAML(t, home)
	for name, tc := range map[string]struct {
		base          *composition.Composition
		policy, field string
	}{
		"a home without the service": {nil, "token_introspection", "client_secret"},
		"a home without the policy":  {withChain(t, buildComposition(t), secretChain()[1:]), "token_introspection", "client_secret"},
		"a header moved under another name": {withChain(t, buildComposition(t), []composition.PolicyConfig{secretChain()[0],
			{Name: "headers", Version: "builtin", Enabled: true, Configuration: json.RawMessage(
				`{"request":[{"op":"set","header":"X-Trace","value":"on","value_type":"plain"},{"op":"set","header":"X-Api-Key","value":"other-key","value_type":"plain"}]}`)},
		}), "headers", "request[1].value"},
	} {
		t.Run(name, func(t *testing.T) {
			docs, err := manifest.Decode(bytes.NewReader(out), "export.yaml")
			require.NoError(t, err)
			_, err = manifest.Desired(docs, tc.base)
			require.Error(t, err, "a placeholder home cannot match is refused")
			for _, want := range []string{"news_api", tc.policy, tc.field} {
				assert.Contains(t, err.Error(), want)
			}
			assert.NotContains(t, err.Error(), "other-key")
		})
	}
}

// A rate limiter's counter key and a JSON log field's name are shown (no
// credential), while any other value under "key" stays hidden, and a
// credential-shaped counter name still is.
func TestHidePolicySecretsShowsCounterKeysAndLogFieldNamesOnly(t *testing.T) {
	got := string(manifest.HidePolicySecrets(json.RawMessage(
		`{"fixed_window_limiters":[{"key":{"name":"per-host","name_type":"plain","scope":"service"},"count":10,"window":60}],` +
			`"connection_limiters":[{"key":{"name":"Bearer leaked-counter-token","scope":"global"},"conn":5}],` +
			`"key":{"name":"x","value":"other-s3cret"},` +
			`"json_object_config":[{"key":"latency","value":"{{upstream_response_time}}","value_type":"liquid"}],` +
			`"fields":[{"key":"plain-key-s3cret","value":"v"},{"key":"typed-key-s3cret","value":"v","value_type":"plain","extra":"x"}],` +
			`"private":{"limiters":[{"key":{"name":"under-a-secret-name"}}]}}`)))
	assert.Contains(t, got, `"name":"per-host","name_type":"plain","scope":"service"`)
	assert.Contains(t, got, `"key":"latency"`)
	for _, secret := range []string{"leaked-counter-token", "other-s3cret", "plain-key-s3cret", "typed-key-s3cret", "under-a-secret-name"} {
		assert.NotContains(t, got, secret)
	}
}
