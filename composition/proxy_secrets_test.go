package composition

import (
	"encoding/json"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const issuerWithCredentials = "https://portolan:s3cr3t@sso.example.com/auth/realms/api"

// oidcService returns a composition with an OIDC service whose issuer URL
// holds the IdP client's credentials, as 3scale keeps them.
func oidcService(t *testing.T) (*Composition, *Service) {
	t.Helper()
	tx := NewTx(New(), testNow)
	svc, _ := createService(t, tx, "Svc", "oidc")
	p, ok := tx.View().Proxies.Get(svc.ID)
	require.True(t, ok)
	n := *p
	n.OIDCIssuerEndpoint = issuerWithCredentials
	require.NoError(t, tx.Update(&n))
	return tx.Result(), svc
}

// An export without secrets keeps the issuer, without its credentials.
func TestExportWithoutSecretsHidesIssuerCredentials(t *testing.T) {
	c, _ := oidcService(t)
	d := Export(c, false, testNow)
	require.Len(t, d.Proxies, 1)
	assert.Equal(t, "https://sso.example.com/auth/realms/api", d.Proxies[0].OIDCIssuerEndpoint)
	b, err := json.Marshal(d)
	require.NoError(t, err)
	assert.NotContains(t, string(b), "s3cr3t")

	with := Export(c, true, testNow)
	assert.Equal(t, issuerWithCredentials, with.Proxies[0].OIDCIssuerEndpoint)
}

// A deployed proxy config's content is the proxy as APIcast reads it: an
// export without secrets leaves out its secret token and issuer
// credentials too, and an import by name still takes it for the config
// home holds.
func TestExportWithoutSecretsHidesProxyConfigSecrets(t *testing.T) {
	c, svc := oidcService(t)
	tx := NewTx(c, testNow)
	content := `{"id":` + strconv.FormatInt(svc.ID, 10) + `,"proxy":{"secret_token":"tok-s3cr3t",` +
		`"oidc_issuer_endpoint":"` + issuerWithCredentials + `","endpoint":"http://x"}}`
	require.NoError(t, tx.Create(&ProxyConfig{ServiceID: svc.ID, Environment: EnvSandbox, Version: 1, Content: json.RawMessage(content)}))
	home := tx.Result()

	d := Export(home, false, testNow)
	require.Len(t, d.ProxyConfigs, 1)
	b, err := json.Marshal(d)
	require.NoError(t, err)
	assert.NotContains(t, string(b), "s3cr3t")
	assert.JSONEq(t, `{"id":`+strconv.FormatInt(svc.ID, 10)+`,"proxy":{"secret_token":"",`+
		`"oidc_issuer_endpoint":"https://sso.example.com/auth/realms/api","endpoint":"http://x"}}`, string(d.ProxyConfigs[0].Content))
	stored, _ := home.ProxyConfigs.Get(d.ProxyConfigs[0].ID)
	assert.JSONEq(t, content, string(stored.Content), "the stored content is untouched")

	itx := NewTx(home, testNow)
	_, err = ImportByName(itx, d)
	require.NoError(t, err)
	assert.Empty(t, itx.Changes(), "a secret-less export of home imports as nothing new")
}

// Keys of another case are read by encoding/json as the exact ones (the
// 3scale API's proxy config reader does), so an export without secrets
// hides them too.
func TestExportWithoutSecretsHidesProxyConfigSecretsUnderKeysOfAnyCase(t *testing.T) {
	c, svc := oidcService(t)
	tx := NewTx(c, testNow)
	content := `{"id":` + strconv.FormatInt(svc.ID, 10) + `,"Proxy":{"Secret_Token":"tok-s3cr3t",` +
		`"OIDC_Issuer_Endpoint":"` + issuerWithCredentials + `","endpoint":"http://x"}}`
	require.NoError(t, tx.Create(&ProxyConfig{ServiceID: svc.ID, Environment: EnvSandbox, Version: 1, Content: json.RawMessage(content)}))
	home := tx.Result()

	d := Export(home, false, testNow)
	require.Len(t, d.ProxyConfigs, 1)
	b, err := json.Marshal(d)
	require.NoError(t, err)
	assert.NotContains(t, string(b), "s3cr3t")
	assert.JSONEq(t, `{"id":`+strconv.FormatInt(svc.ID, 10)+`,"Proxy":{"Secret_Token":"",`+
		`"OIDC_Issuer_Endpoint":"https://sso.example.com/auth/realms/api","endpoint":"http://x"}}`, string(d.ProxyConfigs[0].Content))
}

// Importing a secret-less export back keeps home's issuer credentials, as
// it keeps its secret token: the document says nothing of them.
func TestImportByNameKeepsIssuerCredentials(t *testing.T) {
	home, svc := oidcService(t)
	tx := NewTx(home, testNow)
	_, err := ImportByName(tx, Export(home, false, testNow))
	require.NoError(t, err)
	got, _ := tx.View().Proxies.Get(svc.ID)
	assert.Equal(t, issuerWithCredentials, got.OIDCIssuerEndpoint)
	assert.Empty(t, tx.Changes())
}

// The agent view strips the issuer's credentials even from a URL that does
// not parse, where no parser finds them: such a value goes whole.
func TestAgentViewDropsIssuerCredentialsItCannotParse(t *testing.T) {
	for _, issuer := range []string{
		"https://client:s3cr3t%zz@sso.example.com/auth/realms/api",
		"https://client:s3cr3t#x@sso.example.com/auth/realms/api",
		issuerWithCredentials,
	} {
		tx := NewTx(New(), testNow)
		svc, _ := createService(t, tx, "Svc", "oidc")
		p, _ := tx.View().Proxies.Get(svc.ID)
		n := *p
		n.OIDCIssuerEndpoint = issuer
		require.NoError(t, tx.Update(&n))
		d := AgentView(tx.Result(), "svc", make([]byte, CredentialKeySize), testNow)
		b, err := json.Marshal(d)
		require.NoError(t, err)
		assert.NotContains(t, string(b), "s3cr3t", issuer)
	}
}

// The gateway reads the issuer with the spaces around it trimmed: an issuer
// stored with a leading space or a final newline reaches agents without its
// credentials, not dropped, so that its service keeps working.
func TestAgentViewKeepsAnIssuerWithSpacesAroundIt(t *testing.T) {
	for _, issuer := range []string{" " + issuerWithCredentials, issuerWithCredentials + "\n", "\t" + issuerWithCredentials + " \r\n"} {
		tx := NewTx(New(), testNow)
		svc, _ := createService(t, tx, "Svc", "oidc")
		p, _ := tx.View().Proxies.Get(svc.ID)
		n := *p
		n.OIDCIssuerEndpoint = issuer
		require.NoError(t, tx.Update(&n))
		d := AgentView(tx.Result(), "svc", make([]byte, CredentialKeySize), testNow)
		require.Len(t, d.Proxies, 1)
		assert.Equal(t, "https://sso.example.com/auth/realms/api", d.Proxies[0].OIDCIssuerEndpoint, "%q", issuer)
		assert.Equal(t, "https://sso.example.com/auth/realms/api", IssuerWithoutCredentials(issuer), "%q", issuer)
	}
}
