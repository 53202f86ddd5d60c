package composition

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewProxyGetsDefaultEndpoints(t *testing.T) {
	tx := NewTx(New(), testNow)
	svc := &Service{Name: "News API"}
	require.NoError(t, tx.Create(svc))
	px, ok := tx.View().Proxies.Get(svc.ID)
	require.True(t, ok)
	assert.Equal(t, "http://news-api-1.portolan.localhost:8080", px.Endpoint)
	assert.Equal(t, "http://news-api-1.staging.portolan.localhost:8080", px.SandboxEndpoint)

	// Set endpoints stay; a blanked one gets its default back.
	n := *px
	n.Endpoint, n.SandboxEndpoint = "https://news.example.com", ""
	require.NoError(t, tx.Update(&n))
	px, _ = tx.View().Proxies.Get(svc.ID)
	assert.Equal(t, "https://news.example.com", px.Endpoint)
	assert.Equal(t, "http://news-api-1.staging.portolan.localhost:8080", px.SandboxEndpoint)
}

func TestDefaultEndpointsAreURLsWithOneDNSLabel(t *testing.T) {
	for name, want := range map[string]string{
		"news":          "news-1",
		"my_shop_api":   "my-shop-api-1",
		"__Weird--Name": "weird-name-1",
		"___":           "product-1",
		"":              "product-1",
	} {
		production, staging := DefaultEndpoints(&Service{SystemName: name, AccountID: 1})
		for _, e := range []string{production, staging} {
			u, err := url.Parse(e)
			require.NoError(t, err, e)
			assert.True(t, u.IsAbs(), e)
			assert.Equal(t, want, strings.Split(u.Hostname(), ".")[0], "system name %q", name)
			assert.Equal(t, "8080", u.Port(), e)
		}
		assert.Contains(t, staging, ".staging.portolan.localhost")
	}

	long := strings.Repeat("a", 80)
	production, _ := DefaultEndpoints(&Service{SystemName: long, AccountID: 12345})
	u, err := url.Parse(production)
	require.NoError(t, err)
	label := strings.Split(u.Hostname(), ".")[0]
	assert.LessOrEqual(t, len(label), 63, "a DNS label is at most 63 characters")
	assert.True(t, strings.HasSuffix(label, "-12345"), label)
}

// A policy whose configuration is absent, or null as a nil one becomes
// through JSON, is valid; only a non-object is refused.
func TestPolicyConfigurationNullIsAbsent(t *testing.T) {
	tx := NewTx(New(), testNow)
	s := &Service{Name: "News", SystemName: "news"}
	require.NoError(t, tx.Create(s))
	p, ok := tx.View().Proxies.Get(s.ID)
	require.True(t, ok)
	n := *p
	n.PolicyChain = []PolicyConfig{{Name: "cors", Version: "builtin", Configuration: json.RawMessage("null"), Enabled: true}, {Name: "apicast", Version: "builtin"}}
	require.NoError(t, tx.Update(&n))
	n.PolicyChain = []PolicyConfig{{Name: "cors", Version: "builtin", Configuration: json.RawMessage("[]")}}
	require.ErrorContains(t, tx.Update(&n), "configuration must be a JSON object")

	out := NormalizePolicyChain([]PolicyConfig{{Name: "cors", Configuration: json.RawMessage("null")}})
	require.Len(t, out, 2)
	require.JSONEq(t, "{}", string(out[0].Configuration))
	require.Equal(t, "apicast", out[1].Name)
}
