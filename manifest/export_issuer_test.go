package manifest_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/manifest"
)

// 3scale keeps an OIDC client's credentials in the issuer URL
// (https://client:secret@issuer): an export without secrets names the issuer
// without them, and applying it back keeps home's; another issuer in a
// document is taken as written.
func TestExportWithoutSecretsHidesTheIssuersCredentials(t *testing.T) {
	base := buildComposition(t)
	news, ok := base.ServiceBySystemName("news_api")
	require.True(t, ok)
	px, ok := base.Proxies.Get(news.ID)
	require.True(t, ok)
	withCreds := *px
	withCreds.OIDCIssuerEndpoint = "https://portolan:s3cr3t@sso.example/realms/x"
	tx := composition.NewTx(base, time.Now())
	require.NoError(t, tx.Update(&withCreds))
	base = tx.Result()

	docs := manifest.Export(base, manifest.ExportOptions{})
	proxy := exported(t, docs, manifest.KindService, "news_api").Service.Proxy
	assert.Equal(t, "https://sso.example/realms/x", proxy.OIDCIssuerEndpoint)
	withSecrets := exported(t, manifest.Export(base, manifest.ExportOptions{IncludeSecrets: true}), manifest.KindService, "news_api")
	assert.Equal(t, withCreds.OIDCIssuerEndpoint, withSecrets.Service.Proxy.OIDCIssuerEndpoint)

	issuerOf := func(c *composition.Composition) string {
		s, _ := c.ServiceBySystemName("news_api")
		p, _ := c.Proxies.Get(s.ID)
		return p.OIDCIssuerEndpoint
	}
	c, err := manifest.Desired(docs, base)
	require.NoError(t, err)
	assert.Equal(t, withCreds.OIDCIssuerEndpoint, issuerOf(c), "home's credentials kept")

	proxy.OIDCIssuerEndpoint = "https://other.example/realms/y"
	c, err = manifest.Desired(docs, base)
	require.NoError(t, err)
	assert.Equal(t, "https://other.example/realms/y", issuerOf(c))
}
