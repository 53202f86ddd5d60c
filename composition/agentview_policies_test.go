package composition_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// jwt_parser's issuer_endpoint may carry client credentials as 3scale's
// oidc_issuer_endpoint does; the gateway uses the issuer only, so an
// agent's view carries no more, and the composition keeps them.
func TestAgentViewDropsCredentialsFromPolicyURLs(t *testing.T) {
	tx := composition.NewTx(composition.New(), time.Now())
	svc := &composition.Service{Name: "Keyed"}
	require.NoError(t, tx.Create(svc))
	p, ok := tx.View().Proxies.Get(svc.ID)
	require.True(t, ok)
	n := *p
	n.PolicyChain = []composition.PolicyConfig{
		{Name: "jwt_parser", Version: "builtin", Enabled: true,
			Configuration: json.RawMessage(`{"issuer_endpoint":"https://cli:s3cr3t-pass@sso.example.com/realms/x","required":true}`)},
		{Name: "apicast", Version: "builtin", Enabled: true, Configuration: json.RawMessage(`{}`)},
	}
	require.NoError(t, tx.Update(&n))
	snap := tx.Result()

	b, err := json.Marshal(composition.AgentView(snap, svc.SystemName, bytes.Repeat([]byte{7}, composition.CredentialKeySize), time.Now()))
	require.NoError(t, err)
	assert.NotContains(t, string(b), "s3cr3t-pass")
	var d struct {
		Proxies []struct {
			PolicyChain []composition.PolicyConfig `json:"policy_chain"`
		} `json:"proxies"`
	}
	require.NoError(t, json.Unmarshal(b, &d))
	require.Len(t, d.Proxies, 1)
	require.Len(t, d.Proxies[0].PolicyChain, 2)
	assert.JSONEq(t, `{"issuer_endpoint":"https://sso.example.com/realms/x","required":true}`, string(d.Proxies[0].PolicyChain[0].Configuration))

	kept, _ := snap.Proxies.Get(svc.ID)
	assert.Contains(t, string(kept.PolicyChain[0].Configuration), "cli:s3cr3t-pass@", "the composition lost the credentials")
}
