package client_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/coordinator"
	"github.com/portolan/portolan/registry/client"
)

// secretsDocument is a composition with two services, news (app_id and
// app keys) and weather (user_key), an application of each, a developer
// with a password, and an SSO provider with its client secret.
func secretsDocument(t *testing.T) []byte {
	t.Helper()
	return exportDocument(t, func(tx *composition.Tx) error {
		news := &composition.Service{Name: "News", SystemName: "news", BackendVersion: "2"}
		weather := &composition.Service{Name: "Weather", SystemName: "weather", BackendVersion: "1"}
		np := &composition.ApplicationPlan{Name: "Basic"}
		wp := &composition.ApplicationPlan{Name: "Gold"}
		acct := &composition.Account{OrgName: "Acme"}
		for _, e := range []composition.Entity{news, weather} {
			if err := tx.Create(e); err != nil {
				return err
			}
		}
		np.ServiceID, wp.ServiceID = news.ID, weather.ID
		for _, e := range []composition.Entity{np, wp, acct} {
			if err := tx.Create(e); err != nil {
				return err
			}
		}
		for _, e := range []composition.Entity{
			&composition.User{AccountID: acct.ID, Username: "alice", Email: "alice@example.com", Password: "alice-password-1"},
			&composition.Application{AccountID: acct.ID, PlanID: np.ID, Name: "reader", AppID: "news-app-id-0001", AppKeys: []string{"news-app-key-0001"}},
			&composition.Application{AccountID: acct.ID, PlanID: wp.ID, Name: "forecaster", UserKey: "weather-user-key-0001"},
			&composition.AuthenticationProvider{Kind: "keycloak", Name: "SSO", ClientID: "sso-client", ClientSecret: "sso-client-secret-0001",
				Site: "https://sso.example.com"},
		} {
			if err := tx.Create(e); err != nil {
				return err
			}
		}
		return nil
	})
}

// secretsOf collects every secret of a full export an agent of service
// must not read: applications' keys and ids, provider verification keys,
// the other services' secret tokens (its own is the header its gateway
// sends its app), password hashes, access token digests and SSO client
// secrets.
func secretsOf(t *testing.T, export []byte, service string) []string {
	t.Helper()
	var doc composition.Document
	require.NoError(t, json.Unmarshal(export, &doc))
	var out []string
	add := func(s ...string) {
		for _, v := range s {
			if len(v) >= 8 {
				out = append(out, v)
			}
		}
	}
	for _, a := range doc.Applications {
		add(a.UserKey, a.AppID, a.ProviderVerificationKey)
		add(a.AppKeys...)
	}
	for _, u := range doc.Users {
		add(u.Password)
	}
	for _, tok := range doc.AccessTokens {
		add(tok.Digest)
	}
	own := map[int64]bool{}
	for _, svc := range doc.Services {
		own[svc.ID] = svc.SystemName == service
	}
	for _, p := range doc.Proxies {
		if !own[p.ServiceID] {
			add(p.SecretToken)
		}
	}
	for _, p := range doc.AuthProviders {
		add(p.ClientSecret)
	}
	return out
}

// TestAgentViewLeaksNoSecretOfHome: what an instance reads of home (GET
// /v1/composition) holds none of home's secrets: not the credentials of its
// own service's applications in clear, nothing of another service, no
// provider verification key, password, SSO client secret or admin access
// token.
func TestAgentViewLeaksNoSecretOfHome(t *testing.T) {
	base := homeWith(t, t.TempDir(), coordinator.IdentityConfig{})
	ctx := context.Background()
	admin := newClient(t, client.Config{Address: base, Token: adminToken})
	_, err := admin.ImportComposition(ctx, secretsDocument(t))
	require.NoError(t, err)
	access := createAccessToken(t, base)

	export, err := admin.ExportComposition(ctx, true)
	require.NoError(t, err)
	secrets := append(secretsOf(t, export, "news"), access, adminToken, token, "alice-password-1")
	require.GreaterOrEqual(t, len(secrets), 12, "keys, ids and verification keys of two apps, a hash, a digest, a token, an SSO secret")
	for _, want := range []string{"news-app-key-0001", "weather-user-key-0001", "sso-client-secret-0001"} {
		require.Contains(t, string(export), want, "the export holds the secret the view must not")
	}

	agent := agentWith(t, base, token)
	_, err = agent.Register(ctx, "news-1", registration("news"))
	require.NoError(t, err)
	view, _, err := agent.Composition(ctx, "news-1", 0, 0)
	require.NoError(t, err)
	require.Contains(t, string(view), `"audience":"news"`)
	for _, s := range secrets {
		assert.NotContains(t, string(view), s)
	}
	for _, s := range []string{"weather", "Weather", "alice", "sso-client"} {
		assert.NotContains(t, string(view), s, "nothing of another service, of users or of SSO")
	}
}

// createAccessToken makes an admin access token through 3scale's Access
// Tokens API and returns its value.
func createAccessToken(t *testing.T, base string) string {
	t.Helper()
	form := url.Values{"name": {"ci"}, "permission": {"rw"}, "scopes[]": {"account_management"}}
	req, err := http.NewRequest(http.MethodPost, base+"/admin/api/personal/access_tokens.json", strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("", adminToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", b)
	var out struct {
		AccessToken struct {
			Value string `json:"value"`
		} `json:"access_token"`
	}
	require.NoError(t, json.Unmarshal(b, &out), "%s", b)
	require.NotEmpty(t, out.AccessToken.Value)
	return out.AccessToken.Value
}
